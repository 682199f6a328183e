"""The poll fallback against the simulator: convergence, backfill cost, idle cost."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from soleflip.common.settings import Settings
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from tests.integration.orders.support import (
    mismatches,
    run_service,
    running_sim,
    shipment_mismatches,
    sim_config,
    sim_get,
    sim_post,
    wait_for_poll,
    with_sim,
)

ORDER_DETAIL = "/v2/selling/orders/"
HISTORY = {"AUTHFAILED", "DIDNOTSHIP", "CANCELED", "COMPLETED", "RETURNED"}


@pytest.fixture
async def sim_url() -> AsyncIterator[str]:
    # A still clock: no seeded order takes its next step while a test compares rows.
    async with running_sim(sim_config(orders=240, listings=60, clock_speed=0)) as url:
        yield url


@pytest.fixture
async def polling(orders_settings: Settings, sim_url: str) -> AsyncIterator[OrdersService]:
    options = OrdersSettings(poll_interval_s=3600, details_per_poll=1000)
    async with run_service(with_sim(orders_settings, sim_url), options) as service:
        await wait_for_poll(service)
        yield service


def _kinds(requests: list[dict[str, str]]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for entry in requests:
        path = entry["path"]
        if path in ("/v2/selling/orders/active", "/v2/selling/orders/history"):
            kinds[path.rsplit("/", 1)[-1]] += 1
        elif path.startswith(ORDER_DETAIL):
            kinds["order_detail"] += 1
        elif path == "/v2/selling/listings":
            kinds["listings"] += 1
        elif path.startswith("/v2/selling/listings/"):
            kinds["listing_detail"] += 1
        else:
            kinds[path] += 1
    return kinds


async def test_first_poll_mirrors_every_order_and_listing(
    polling: OrdersService, sim_url: str
) -> None:
    assert await mismatches(polling, sim_url) == []


async def test_backfill_costs_a_list_call_per_100_orders_plus_one_detail_per_order(
    orders_settings: Settings, sim_url: str
) -> None:
    truth = (await sim_get(sim_url, "/_sim/state/orders"))["orders"]
    await sim_post(sim_url, "/_sim/requests/clear", {})
    options = OrdersSettings(poll_interval_s=3600, details_per_poll=1000)
    async with run_service(with_sim(orders_settings, sim_url), options) as service:
        await wait_for_poll(service)
    requests = (await sim_get(sim_url, "/_sim/requests"))["requests"]
    kinds = _kinds(requests)
    active = sum(o["status"] not in HISTORY for o in truth)
    # Page counts are rounded up per list (active, history), so at most one extra call.
    assert kinds["active"] + kinds["history"] <= math.ceil(len(truth) / 100) + 1
    assert kinds["active"] == max(1, math.ceil(active / 100))
    # List pages carry no shipment: every order's detail is read, once.
    details = Counter(r["path"] for r in requests if _kinds([r]) == {"order_detail": 1})
    assert len(details) == len(truth)
    assert set(details.values()) == {1}


async def test_idle_shop_costs_one_call_per_resource_kind(
    polling: OrdersService, sim_url: str
) -> None:
    await sim_post(sim_url, "/_sim/requests/clear", {})
    await wait_for_poll(polling)
    kinds = _kinds((await sim_get(sim_url, "/_sim/requests"))["requests"])
    orders = (await sim_get(sim_url, "/_sim/state/orders"))["orders"]
    listings = (await sim_get(sim_url, "/_sim/state/listings"))["listings"]
    changeable = [x for x in listings if x["status"] in ("ACTIVE", "INACTIVE", "MATCHED")]
    # 240 orders and their listings span several pages (StockX has no date filter there);
    # nothing else is read: no history, no expired listings, no details.
    assert kinds == Counter(
        {
            "active": math.ceil(sum(o["status"] not in HISTORY for o in orders) / 100),
            "listings": math.ceil(len(changeable) / 100),
        }
    )


async def test_small_idle_shop_costs_exactly_one_call_per_kind(
    orders_settings: Settings,
) -> None:
    async with running_sim(sim_config(orders=10, listings=20)) as url:
        options = OrdersSettings(poll_interval_s=3600)
        async with run_service(with_sim(orders_settings, url), options) as service:
            await wait_for_poll(service)
            await sim_post(url, "/_sim/requests/clear", {})
            for _ in range(3):
                await wait_for_poll(service)
            kinds = _kinds((await sim_get(url, "/_sim/requests"))["requests"])
    # three idle polls: active orders and changeable listings, once each per poll
    assert kinds == Counter({"active": 3, "listings": 3})


async def test_settled_lists_are_read_again_after_the_settled_interval(
    orders_settings: Settings,
) -> None:
    async with running_sim(sim_config(orders=10, listings=20)) as url:
        options = OrdersSettings(poll_interval_s=3600, settled_poll_interval_s=0.5)
        async with run_service(with_sim(orders_settings, url), options) as service:
            await wait_for_poll(service)
            await sim_post(url, "/_sim/requests/clear", {})
            await asyncio.sleep(0.6)
            await wait_for_poll(service)
            kinds = _kinds((await sim_get(url, "/_sim/requests"))["requests"])
    # history from the watermark and the expired listings, on top of the idle calls
    assert kinds == Counter({"active": 1, "history": 1, "listings": 2})


async def test_changes_without_webhooks_converge_after_one_poll(
    polling: OrdersService, sim_url: str
) -> None:
    await sim_post(sim_url, "/_sim/advance", {"seconds": 2 * 86_400})
    for _ in range(5):
        await sim_post(sim_url, "/_sim/orders", {}, method="POST")
    await wait_for_poll(polling)
    assert await mismatches(polling, sim_url) == []
    async with polling.pool.acquire() as conn:
        history = await conn.fetchval("SELECT count(*) FROM order_status_history")
    assert history > 240


async def test_requested_poll_of_listings_reads_only_listings(
    polling: OrdersService, sim_url: str
) -> None:
    await sim_post(sim_url, "/_sim/requests/clear", {})
    await wait_for_poll(polling, 30, what="listings")
    kinds = _kinds((await sim_get(sim_url, "/_sim/requests"))["requests"])
    assert kinds["listings"] >= 1
    assert kinds["active"] == kinds["history"] == 0


async def test_orders_first_seen_past_created_get_their_shipment_once(
    polling: OrdersService, sim_url: str
) -> None:
    orders = (await sim_get(sim_url, "/_sim/state/orders"))["orders"]
    assert sum(o["status"] != "CREATED" for o in orders) > 100
    assert await shipment_mismatches(polling, sim_url) == []
    await sim_post(sim_url, "/_sim/requests/clear", {})
    await sim_post(sim_url, "/_sim/advance", {"seconds": 86_400})  # statuses move on
    await wait_for_poll(polling)
    await wait_for_poll(polling)
    kinds = _kinds((await sim_get(sim_url, "/_sim/requests"))["requests"])
    assert kinds["order_detail"] == 0  # the shipment is held: no second read
    assert await mismatches(polling, sim_url) == []
