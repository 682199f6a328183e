"""Fixtures for the HTTP edge: a sample app built by `create_app`, tokens, captured log lines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
from litestar import Controller, Litestar, Request, get, post
from litestar.params import JSONBody
from litestar.testing import TestClient

from soleflip.common.errors import InvalidInput, RateLimited, Unavailable
from soleflip.common.http import BEARER_SECURITY, create_app, generate_token, requires
from soleflip.common.observability import configure_observability, get_logger, inject_headers
from soleflip.common.settings import Settings, load_settings

MAX_BODY = 200


class Tokens(msgspec.Struct, frozen=True):
    read: str
    write: str
    admin: str
    entries: str


class Item(msgspec.Struct):
    sku: str
    quantity: int


class ItemController(Controller):
    """A stand-in `/api/v1` controller: read to list, write to create, admin to purge."""

    path = "/api/v1/items"
    guards = [requires("read")]
    security = BEARER_SECURITY

    @get("/")
    async def list_items(self) -> dict[str, list[str]]:
        return {"items": []}

    @post("/", guards=[requires("write")])
    async def create_item(self, data: JSONBody[Item]) -> Item:
        return data

    @post("/purge", guards=[requires("admin")], status_code=204)
    async def purge_items(self) -> None:
        return None


@get("/echo-trace")
async def echo_trace() -> dict[str, str]:
    return inject_headers({})


@get("/fail/invalid")
async def fail_invalid() -> None:
    raise InvalidInput("sku is unknown", errors=[{"field": "sku", "message": "unknown"}])


@get("/fail/limited")
async def fail_limited() -> None:
    raise RateLimited("too many requests from n8n", headers={"Retry-After": "7"})


@get("/fail/unavailable")
async def fail_unavailable() -> None:
    raise Unavailable("NATS is down", headers={"Retry-After": "2"})


@get("/fail/bug")
async def fail_bug() -> None:
    raise RuntimeError("internal state /srv/secret/path exploded")


@post("/upload", status_code=200)
async def upload(request: Request[Any, Any, Any]) -> dict[str, int]:
    return {"size": len(await request.body())}


@get("/log-headers")
async def log_headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    # Deliberately careless, as a handler might be: the redactor must still mask secrets.
    get_logger("test").info("incoming", headers=dict(request.headers), raw=request.scope["headers"])
    return {}


HANDLERS = [
    ItemController,
    echo_trace,
    fail_invalid,
    fail_limited,
    fail_unavailable,
    fail_bug,
    upload,
    log_headers,
]


@pytest.fixture(scope="session")
def tokens() -> Tokens:
    plain = {scope: generate_token(f"{scope}-bot", [scope]) for scope in ("read", "write", "admin")}
    return Tokens(
        read=plain["read"][0],
        write=plain["write"][0],
        admin=plain["admin"][0],
        entries=";".join(entry for _, entry in plain.values()),
    )


@pytest.fixture
def settings(tokens: Tokens) -> Settings:
    return load_settings(
        {
            "SOLEFLIP_API_TOKENS": tokens.entries,
            "SOLEFLIP_MAX_BODY_BYTES": str(MAX_BODY),
            "SOLEFLIP_WEBHOOK_SECRETS_STOCKX": "whsec_c3VwZXJzZWNyZXRrZXkxMjM0NTY=",
            "SOLEFLIP_STOCKX_CLIENT_SECRET": "stockx-client-secret-value",
        }
    )


@pytest.fixture
def make_app(settings: Settings) -> Callable[..., Litestar]:
    configure_observability("test-svc", settings, env={})

    def build(**overrides: Any) -> Litestar:
        kwargs: dict[str, Any] = {"service": "test-svc", "settings": settings}
        kwargs["route_handlers"] = HANDLERS
        kwargs.update(overrides)
        return create_app(**kwargs)

    return build


@pytest.fixture
def client(make_app: Callable[..., Litestar]) -> Iterator[TestClient[Litestar]]:
    with TestClient(make_app()) as test_client:
        yield test_client


@pytest.fixture
def log_lines(capsys: pytest.CaptureFixture[str]) -> Callable[[], list[dict[str, Any]]]:
    """Parsed JSON log lines written to stdout since the last call."""

    def read() -> list[dict[str, Any]]:
        out = capsys.readouterr().out
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    return read


async def never_ready() -> None:
    await asyncio.sleep(60)
