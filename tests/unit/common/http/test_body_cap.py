"""The request body cap: at the limit is accepted, one byte over is a 413 problem."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from litestar import Litestar
from litestar.testing import TestClient

from soleflip.common.http import PROBLEM_JSON
from soleflip.common.settings import Settings


def test_body_at_the_cap_is_accepted(client: TestClient[Litestar], settings: Settings) -> None:
    response = client.post("/upload", content=b"x" * settings.max_body_bytes)
    assert response.status_code == 200
    assert response.json() == {"size": settings.max_body_bytes}


def test_body_one_byte_over_the_cap_is_413(
    client: TestClient[Litestar], settings: Settings
) -> None:
    response = client.post("/upload", content=b"x" * (settings.max_body_bytes + 1))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["status"] == 413


def test_chunked_body_over_the_cap_is_413(client: TestClient[Litestar], settings: Settings) -> None:
    def chunks() -> Iterator[bytes]:
        # No content-length: the cap must hold while the body streams in.
        for _ in range(settings.max_body_bytes // 50 + 2):
            yield b"y" * 50

    response = client.post("/upload", content=chunks())
    assert response.status_code == 413


def test_explicit_max_body_bytes_overrides_settings(
    make_app: Callable[..., Litestar], settings: Settings
) -> None:
    with TestClient(make_app(max_body_bytes=settings.max_body_bytes * 2)) as client:
        response = client.post("/upload", content=b"x" * (settings.max_body_bytes + 1))
    assert response.status_code == 200
