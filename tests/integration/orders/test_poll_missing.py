"""Orders and listings StockX answers 404 for (known only from a webhook) never stop a poll."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from soleflip.common.settings import Settings
from soleflip.orders import queries
from soleflip.orders.http._views import order_view
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from tests.integration.orders.support import (
    event,
    listing_resource,
    mismatches,
    order_resource,
    publish_events,
    run_service,
    running_sim,
    shipment_mismatches,
    sim_config,
    sim_get,
    sim_post,
    wait_for_poll,
    with_sim,
)
from tests.support.wait import until

# Sorts before every real order number: a poll that stops at it reads no detail after it.
UNKNOWN_ORDER = "000000000-000000000"
UNKNOWN_LISTING = "00000000-0000-0000-0000-000000000000"
#: Named only by a listing a relay sent: no order row to count its 404s on.
REFERENCED_ORDER = "000000000-000000001"
SOLD_LISTING = "00000000-0000-0000-0000-000000000001"
TRIES = 3


@pytest.fixture
async def sim_url() -> AsyncIterator[str]:
    async with running_sim(sim_config(orders=200, listings=40, clock_speed=0)) as url:
        yield url


@pytest.fixture
async def polling(orders_settings: Settings, sim_url: str) -> AsyncIterator[OrdersService]:
    options = OrdersSettings(poll_interval_s=3600, details_per_poll=1000, missing_max_tries=TRIES)
    async with run_service(with_sim(orders_settings, sim_url), options) as service:
        await wait_for_poll(service, timeout=120)
        yield service


def _sold_listing() -> dict[str, object]:
    order = {
        "orderNumber": REFERENCED_ORDER,
        "orderCreatedAt": "2026-01-01T09:00:00.000Z",
        "orderStatus": "COMPLETED",
    }
    return listing_resource(SOLD_LISTING, "COMPLETED") | {"order": order}


async def _webhooks_only(service: OrdersService) -> None:
    """An order and a listing only a relay told us about."""
    events = [
        event("stockx.order.updated", order_resource(UNKNOWN_ORDER, "CREATED")),
        event("stockx.listing.updated", listing_resource(UNKNOWN_LISTING, "ACTIVE")),
        event("stockx.listing.updated", _sold_listing()),
    ]
    await publish_events(service.runtime.publisher, events)

    async def held() -> bool:
        async with service.pool.acquire() as conn:
            orders = await conn.fetchval(
                'SELECT count(*) FROM "order" WHERE order_number = $1', UNKNOWN_ORDER
            )
            listings = await conn.fetchval(
                "SELECT count(*) FROM listing WHERE listing_id = $1", UNKNOWN_LISTING
            )
        return bool(orders and listings)

    await until(held, 30)


def _missing_metric(kind: str) -> float:
    labels = {"poller": "orders", "kind": kind, "reason": "missing"}
    return REGISTRY.get_sample_value("soleflip_poll_item_failures_total", labels) or 0.0


async def _asked(sim_url: str, path: str) -> int:
    requests = (await sim_get(sim_url, "/_sim/requests"))["requests"]
    return sum(r["path"] == path for r in requests)


async def test_unknown_order_and_listing_never_stop_the_poll_and_are_asked_at_most_n_times(
    polling: OrdersService, sim_url: str
) -> None:
    await sim_post(sim_url, "/_sim/requests/clear", {})
    missing_before = _missing_metric("order")
    await _webhooks_only(polling)
    await wait_for_poll(polling, timeout=120)
    # The 200 real orders converge within that poll, details (shipments) included.
    assert [m for m in await mismatches(polling, sim_url) if UNKNOWN_ORDER not in m] == []
    assert await shipment_mismatches(polling, sim_url) == []
    async with polling.pool.acquire() as conn:
        order = await conn.fetchrow(
            'SELECT stockx_missing_since, stockx_missing_tries FROM "order"'
            " WHERE order_number = $1",
            UNKNOWN_ORDER,
        )
        listing = await conn.fetchrow(
            "SELECT stockx_missing_since, stockx_missing_tries FROM listing WHERE listing_id = $1",
            UNKNOWN_LISTING,
        )
    assert order["stockx_missing_since"] is not None
    assert order["stockx_missing_tries"] == 1
    async with polling.pool.acquire() as conn:
        view = order_view(await queries.get_order(conn, UNKNOWN_ORDER))  # type: ignore[arg-type]
    assert view.stockx_missing_since == order["stockx_missing_since"]  # GET /api/v1/orders/{n}
    assert listing["stockx_missing_since"] is not None
    assert listing["stockx_missing_tries"] == 1
    for _ in range(TRIES + 2):
        await wait_for_poll(polling, timeout=60)
    assert await _asked(sim_url, f"/v2/selling/orders/{UNKNOWN_ORDER}") == TRIES
    assert await _asked(sim_url, f"/v2/selling/orders/{REFERENCED_ORDER}") == TRIES
    assert _missing_metric("order") - missing_before == 2 * TRIES
    assert await _asked(sim_url, f"/v2/selling/listings/{UNKNOWN_LISTING}") == TRIES
    # Once given up, they no longer make history or the expired listings worth reading: the
    # poll costs only the pages of active orders and changeable listings.
    await sim_post(sim_url, "/_sim/requests/clear", {})
    await wait_for_poll(polling, timeout=60)
    paths = [r["path"] for r in (await sim_get(sim_url, "/_sim/requests"))["requests"]]
    listings = (await sim_get(sim_url, "/_sim/state/listings"))["listings"]
    changeable = sum(x["status"] in ("ACTIVE", "INACTIVE", "MATCHED") for x in listings)
    assert set(paths) == {"/v2/selling/orders/active", "/v2/selling/listings"}
    assert paths.count("/v2/selling/listings") <= math.ceil(changeable / 100)
