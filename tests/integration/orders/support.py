"""Helpers shared by the orders tests (integration, e2e, reliability) and the benchmark."""

from __future__ import annotations

import asyncio
import importlib.resources
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec

from soleflip.common.bus import Outgoing, Publisher
from soleflip.common.contracts import uuid7
from soleflip.common.db import migrate
from soleflip.common.settings import Settings
from soleflip.orders.app import build_service
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings


async def migrate_orders(dsn: str) -> None:
    await migrate(
        dsn, "orders", importlib.resources.files("soleflip.orders").joinpath("migrations")
    )


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


async def eventually(
    check: Callable[[], Awaitable[bool]],
    timeout: float = 15.0,  # noqa: ASYNC109 - a deadline for the polling loop
    interval: float = 0.05,
) -> None:
    """Wait until `check()` is true; fail with a clear message after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
