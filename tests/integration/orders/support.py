"""Helpers shared by the orders tests (integration, e2e, reliability) and the benchmark."""

from __future__ import annotations

import asyncio
import importlib.resources
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec

from soleflip.common.bus import Outgoing, Publisher
from soleflip.common.contracts import uuid7
from soleflip.common.db import migrate
from soleflip.common.http import build_server
from soleflip.common.localinfra import free_port
from soleflip.common.settings import Settings
from soleflip.orders.app import build_service
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from soleflip.stockx_sim import SimConfig
from soleflip.stockx_sim import create_app as create_sim_app
from tests.support.wait import until


async def migrate_orders(dsn: str) -> None:
    await migrate(
        dsn, "orders", importlib.resources.files("soleflip.orders").joinpath("migrations")
    )


def _migrations_before(target: Path, first_left_out: str) -> Path:
    """`target`, holding orders' migrations before `first_left_out` (a file name prefix)."""
    source = Path(str(importlib.resources.files("soleflip.orders").joinpath("migrations")))
    target.mkdir()
    for file in sorted(source.glob("*.sql")):
        if file.name < first_left_out:
            shutil.copy(file, target / file.name)
    return target


async def migrate_orders_before(dsn: str, first_left_out: str, scratch: Path) -> None:
    """Orders' schema as it was before the migration `first_left_out` (copied under `scratch`);
    `migrate_orders` then runs the rest."""
    await migrate(dsn, "orders", _migrations_before(scratch / "migrations", first_left_out))


@asynccontextmanager
async def run_service(settings: Settings, options: OrdersSettings) -> AsyncIterator[OrdersService]:
    """The orders runtime (pool, NATS, relay, consumers, pollers) without the HTTP server."""
    service = build_service(settings, options)
    async with service.runtime.lifespan():
        yield service


def order_resource(
    number: str,
    status: str = "CREATED",
    updated_at: str = "2026-01-01T10:00:00.000Z",
    *,
    amount: str = "102",
    currency: str = "EUR",
    listing_id: str | None = None,
    variant_id: str = "var-1",
    payout: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A StockX order resource (list-item shape) as a relay sends it."""
    return {
        "orderNumber": number,
        "listingId": listing_id,
        "askId": "1365883162130465",
        "amount": amount,
        "currencyCode": currency,
        "status": status,
        "createdAt": "2026-01-01T09:00:00.000Z",
        "updatedAt": updated_at,
        "product": {"productId": "prod-1", "productName": "Dunk", "styleId": "DD1391-100"},
        "variant": {"variantId": variant_id, "variantName": "Dunk:10", "variantValue": "10"},
        "payout": payout,
        "inventoryType": "STANDARD",
    }


def listing_resource(
    listing_id: str,
    status: str = "ACTIVE",
    updated_at: str = "2026-01-01T08:00:00.000Z",
    *,
    amount: str = "102",
    variant_id: str = "var-1",
) -> dict[str, Any]:
    return {
        "listingId": listing_id,
        "status": status,
        "amount": amount,
        "currencyCode": "EUR",
        "inventoryType": "STANDARD",
        "createdAt": "2026-01-01T07:00:00.000Z",
        "updatedAt": updated_at,
        "variant": {"variantId": variant_id, "variantName": "Dunk:10", "variantValue": "10"},
        "product": {"productId": "prod-1"},
    }


def event(type_: str, data: Any, event_id: str | None = None) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id or uuid7(),
        "source": "test",
        "type": type_,
        "datacontenttype": "application/json",
        "data": data,
    }


async def publish_events(publisher: Publisher, events: list[dict[str, Any]]) -> None:
    """Publish events to INGEST as ingest would (subject `ingest.<type>`, msg id = event id)."""
    messages = [
        Outgoing(f"ingest.{e['type']}", msgspec.json.encode(e), str(e["id"])) for e in events
    ]
    for start in range(0, len(messages), 1000):
        await publisher.publish_many(messages[start : start + 1000])


def sim_config(**overrides: Any) -> SimConfig:
    """A fast simulator: no rate limit, operations settle at once, tokens never expire."""
    values: dict[str, Any] = {
        "seed": 11,
        "products": 20,
        "listings": 30,
        "orders": 20,
        "rate_per_s": 0,
        "daily_limit": 10**9,
        "settle_delay_s": 0.0,
        "token_ttl_s": 10**8,
    }
    return SimConfig(**(values | overrides))


@asynccontextmanager
async def running_sim(config: SimConfig, port: int | None = None) -> AsyncIterator[str]:
    """The simulator served over HTTP in this event loop; yields its base URL."""
    async with serving(create_sim_app(Settings(), config), port) as url:
        yield url


@asynccontextmanager
async def serving(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """An ASGI app served by uvicorn in this event loop (lifespan included); yields its URL."""
    port = port or free_port()
    server = build_server(app, host="127.0.0.1", port=port, install_signal_handlers=False)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def with_sim(settings: Settings, sim_url: str) -> Settings:
    """`settings` pointed at the simulator with its documented credentials, unthrottled."""
    return msgspec.structs.replace(
        settings,
        stockx_api_url=f"{sim_url}/v2",
        stockx_auth_url=sim_url,
        stockx_client_id="sim-client",
        stockx_client_secret="sim-secret",
        stockx_refresh_token="sim-refresh",
        stockx_api_key="sim-api-key",
        stockx_rate_per_s=1000.0,
    )


async def sim_get(sim_url: str, path: str) -> Any:
    async with httpx.AsyncClient(base_url=sim_url, timeout=30) as client:
        response = await client.get(path)
        response.raise_for_status()
        return response.json()


async def sim_post(sim_url: str, path: str, body: Any, method: str = "POST") -> Any:
    async with httpx.AsyncClient(base_url=sim_url, timeout=30) as client:
        response = await client.request(method, path, json=body)
        response.raise_for_status()
        return response.json()


def _ts(raw: str | None) -> datetime | None:
    return None if raw is None else datetime.fromisoformat(raw.replace("Z", "+00:00"))


async def mismatches(service: OrdersService, sim_url: str) -> list[str]:
    """Every difference between our rows and the simulator's truth (empty when converged)."""
    orders = (await sim_get(sim_url, "/_sim/state/orders"))["orders"]
    listings = (await sim_get(sim_url, "/_sim/state/listings"))["listings"]
    async with service.pool.acquire() as conn:
        ours = {r["order_number"]: r for r in await conn.fetch('SELECT * FROM "order"')}
        held = {r["listing_id"]: r for r in await conn.fetch("SELECT * FROM listing")}
    problems = [f"order {o['orderNumber']}: {d}" for o in orders for d in _order_diff(o, ours)]
    problems += [f"listing {x['listingId']}: {d}" for x in listings for d in _listing_diff(x, held)]
    return problems


def _order_diff(truth: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    row = ours.get(truth["orderNumber"])
    if row is None:
        return ["missing"]
    payout = truth["payout"]["totalPayout"] if truth.get("payout") else None
    want = {
        "status": truth["status"],
        "amount": Decimal(truth["amount"]),
        "currency": truth["currencyCode"],
        "net_proceeds": Decimal(payout) if payout else None,
        "created_at": _ts(truth["createdAt"]),
        "updated_at": _ts(truth["updatedAt"]),
    }
    return [f"{k}: {row[k]!r} != {v!r}" for k, v in want.items() if row[k] != v]


def _listing_diff(truth: dict[str, Any], held: dict[str, Any]) -> list[str]:
    row = held.get(truth["listingId"])
    if row is None:
        return ["missing"]
    want = {
        "status": truth["status"],
        "amount": Decimal(truth["amount"]),
        "currency": truth["currencyCode"],
        "created_at": _ts(truth["createdAt"]),
        "updated_at": _ts(truth["updatedAt"]),
    }
    return [f"{k}: {row[k]!r} != {v!r}" for k, v in want.items() if row[k] != v]


async def shipment_mismatches(service: OrdersService, sim_url: str) -> list[str]:
    """Orders whose tracking number differs from the simulator's (order detail fields)."""
    orders = (await sim_get(sim_url, "/_sim/state/orders"))["orders"]
    async with service.pool.acquire() as conn:
        rows = await conn.fetch('SELECT order_number, shipment FROM "order"')
    ours = {r["order_number"]: r["shipment"] or {} for r in rows}
    problems = []
    for order in orders:
        want = (order.get("shipment") or {}).get("trackingNumber")
        held = ours.get(order["orderNumber"], {}).get("trackingNumber")
        if want != held:
            problems.append(f"order {order['orderNumber']}: tracking {held!r} != {want!r}")
    return problems


async def wait_for_poll(
    service: OrdersService,
    timeout: float = 60.0,  # noqa: ASYNC109
    what: str = "all",
) -> None:
    """Ask for a poll now and wait until a poll that started after the request finished: one
    already running may have read StockX before the change the caller just made there."""
    due = service.polls_started + 1  # polls run one after another: the next one to start
    service.request_poll(what)
    await until(lambda: service.polls_done >= due, timeout, what=f"a {what} poll")
