"""A dependency that is down is a 503 problem with Retry-After at every HTTP edge, never a 500."""

from __future__ import annotations

import importlib

import asyncpg
import pytest
from litestar import Litestar, get
from litestar.testing import TestClient
from prometheus_client import REGISTRY

from soleflip.common.crypto import Crypto
from soleflip.common.errors import Unavailable
from soleflip.common.http import PROBLEM_JSON
from soleflip.common.http._problems import exception_handlers, handle_unexpected
from soleflip.common.settings import Settings

FAILURES: dict[str, Exception] = {
    "refused": ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
    "starting": asyncpg.CannotConnectNowError("the database system is starting up"),
    "shutdown": asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    "lost": asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    "pool-timeout": TimeoutError(),
    "deadlock": asyncpg.DeadlockDetectedError("deadlock detected"),
    "bug": RuntimeError("a bug"),
    "bare-unavailable": Unavailable("Postgres does not answer"),
}


@get("/fail/{kind:str}", sync_to_thread=False)
def fail(kind: str) -> None:
    raise FAILURES[kind]


@pytest.fixture
def client() -> TestClient[Litestar]:
    app = Litestar(route_handlers=[fail], exception_handlers=exception_handlers())
    return TestClient(app)


@pytest.mark.parametrize(
    "kind", ["refused", "starting", "shutdown", "lost", "pool-timeout", "deadlock"]
)
def test_a_connection_failure_is_503_problem_with_retry_after(
    client: TestClient[Litestar], kind: str
) -> None:
    error = type(FAILURES[kind]).__name__
    before = REGISTRY.get_sample_value(
        "soleflip_http_dependency_unavailable_total", {"error": error}
    )

    response = client.get(f"/fail/{kind}")

    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["type"] == "urn:soleflip:problem:unavailable"
    assert "5432" not in response.text  # no internals
    after = REGISTRY.get_sample_value(
        "soleflip_http_dependency_unavailable_total", {"error": error}
    )
    assert (after or 0) == (before or 0) + 1


def test_an_unavailable_without_retry_after_gets_one(client: TestClient[Litestar]) -> None:
    response = client.get("/fail/bare-unavailable")

    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1


def test_a_bug_is_still_a_500(client: TestClient[Litestar]) -> None:
    assert client.get("/fail/bug").status_code == 500


@pytest.mark.parametrize("service", ["catalog", "orders", "pricing"])
def test_every_data_service_maps_errors_through_the_shared_handlers(service: str) -> None:
    """Catalog and pricing answer outages the way orders does: the same handlers, not copies."""
    create_app = importlib.import_module(f"soleflip.{service}.app").create_app
    app = create_app(Settings(fernet_keys=(Crypto.generate_key(),)))

    assert app.exception_handlers.get(Exception) is handle_unexpected
