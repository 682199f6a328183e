"""create_app wiring: lifespans and hooks, mounted raw ASGI apps, money encoding, app state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from litestar import Litestar, get
from litestar.testing import TestClient

from soleflip.common.http import SERVICE_STATE_KEY, SETTINGS_STATE_KEY
from soleflip.common.settings import Settings


async def raw_webhooks(scope: Any, receive: Any, send: Any) -> None:
    body = f"raw {scope['method']} {scope['path']}".encode()
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_raw_asgi_app_is_mounted_and_observed(
    make_app: Callable[..., Litestar], log_lines: Any
) -> None:
    app = make_app(extra_asgi_routes={"/webhooks": raw_webhooks})
    with TestClient(app) as client:
        log_lines()
        response = client.post("/webhooks/stockx", content=b"{}")
    assert response.status_code == 202
    # Litestar hands a mount the remaining path (with a trailing slash).
    assert response.text == "raw POST /stockx/"
    assert response.headers["x-request-id"]
    (access,) = [line for line in log_lines() if line["event"] == "http request"]
    assert access["route"] == "/webhooks"
    assert access["path"] == "/webhooks/stockx"
    assert access["status"] == 202


def test_lifespans_and_hooks_run_in_order(make_app: Callable[..., Litestar]) -> None:
    calls: list[str] = []

    @asynccontextmanager
    async def resources(app: Litestar) -> AsyncIterator[None]:
        calls.append("lifespan enter")
        yield
        calls.append("lifespan exit")

    app = make_app(
        lifespan=[resources],
        on_startup=[lambda: calls.append("startup")],
        on_shutdown=[lambda: calls.append("shutdown")],
    )
    with TestClient(app):
        calls.append("serving")
    assert calls.index("serving") > calls.index("lifespan enter")
    assert calls.index("serving") > calls.index("startup")
    assert calls.index("serving") < calls.index("shutdown")
    assert calls.index("serving") < calls.index("lifespan exit")


def test_money_is_encoded_as_a_string_never_a_float(make_app: Callable[..., Litestar]) -> None:
    @get("/price")
    async def price() -> dict[str, Decimal]:
        return {"amount": Decimal("123.10"), "whole": Decimal("200")}

    with TestClient(make_app(route_handlers=[price])) as client:
        assert client.get("/price").json() == {"amount": "123.10", "whole": "200"}


def test_settings_and_service_are_in_app_state(
    make_app: Callable[..., Litestar], settings: Settings
) -> None:
    app = make_app(state={"custom": 1})
    assert app.state[SETTINGS_STATE_KEY] is settings
    assert app.state[SERVICE_STATE_KEY] == "test-svc"
    assert app.state["custom"] == 1
