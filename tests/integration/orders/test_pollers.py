"""The poll fallback against the simulator: convergence, backfill cost, idle cost."""

from __future__ import annotations

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
    sim_config,
    sim_get,
    sim_post,
    wait_for_poll,
    with_sim,
)
from tests.support.wait import until

ORDER_DETAIL = "/v2/selling/orders/"


@pytest.fixture
async def sim_url() -> AsyncIterator[str]:
    async with running_sim(sim_config(orders=240, listings=60)) as url:
        yield url


@pytest.fixture
async def polling(orders_settings: Settings, sim_url: str) -> AsyncIterator[OrdersService]:
    options = OrdersSettings(poll_interval_s=3600)
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


async def test_backfill_costs_a_list_call_per_100_orders_plus_needed_details(
    orders_settings: Settings, sim_url: str
) -> None:
    truth = (await sim_get(sim_url, "/_sim/state/orders"))["orders"]
    await sim_post(sim_url, "/_sim/requests/clear", {})
    options = OrdersSettings(poll_interval_s=3600)
    async with run_service(with_sim(orders_settings, sim_url), options) as service:
        await wait_for_poll(service)
    kinds = _kinds((await sim_get(sim_url, "/_sim/requests"))["requests"])
    history = {"AUTHFAILED", "DIDNOTSHIP", "CANCELED", "COMPLETED", "RETURNED"}
    active = sum(o["status"] not in history for o in truth)
    created = sum(o["status"] == "CREATED" for o in truth)
    # Page counts are rounded up per list (active, history), so at most one extra call.
    assert kinds["active"] + kinds["history"] <= math.ceil(len(truth) / 100) + 1
    assert kinds["active"] == max(1, math.ceil(active / 100))
    assert kinds["order_detail"] == created  # only orders that must ship lack a shipment


async def test_idle_shop_costs_one_call_per_resource_kind(
    polling: OrdersService, sim_url: str
) -> None:
    await sim_post(sim_url, "/_sim/requests/clear", {})
    await wait_for_poll(polling)
    kinds = _kinds((await sim_get(sim_url, "/_sim/requests"))["requests"])
    # 240 orders span several active pages; the idle cost is what a quiet shop pays on top.
    active_pages = kinds.pop("active")
    listing_pages = kinds.pop("listings")
    assert kinds == Counter({"history": 1})
    assert active_pages >= 1
    assert listing_pages >= 2  # changeable listings and expired ones


async def test_small_idle_shop_costs_exactly_one_call_per_kind(
    orders_settings: Settings,
) -> None:
    async with running_sim(sim_config(orders=10, listings=20)) as url:
        options = OrdersSettings(poll_interval_s=3600)
        async with run_service(with_sim(orders_settings, url), options) as service:
            await wait_for_poll(service)
            await sim_post(url, "/_sim/requests/clear", {})
            await wait_for_poll(service)
            kinds = _kinds((await sim_get(url, "/_sim/requests"))["requests"])
    # active orders, order history, changeable listings + expired listings (two kinds, one path)
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
    before = polling.polls_done
    polling.request_poll("listings")

    async def polled() -> bool:
        return polling.polls_done > before

    await until(polled, 30)
    kinds = _kinds((await sim_get(sim_url, "/_sim/requests"))["requests"])
    assert kinds["listings"] >= 1
    assert kinds["active"] == kinds["history"] == 0
