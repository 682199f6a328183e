"""`POST /api/v1/sync` with replicas: whichever process takes the request, the leader polls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from soleflip.common.errors import Unavailable
from soleflip.common.settings import Settings
from soleflip.orders.control import request_sync
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from tests.integration.orders.support import (
    run_service,
    running_sim,
    sim_config,
    sim_get,
    sim_post,
    with_sim,
)
from tests.support.wait import until

LISTINGS = "/v2/selling/listings"
ORDER_LISTS = ("/v2/selling/orders/active", "/v2/selling/orders/history")


@pytest.fixture
async def sim_url() -> AsyncIterator[str]:
    async with running_sim(sim_config(orders=5, listings=5)) as url:
        yield url


@pytest.fixture
async def replicas(orders_settings: Settings, sim_url: str) -> AsyncIterator[list[OrdersService]]:
    """Two orders runtimes on one database and NATS prefix, both campaigning for the pollers."""
    options = OrdersSettings(poll_interval_s=3600)
    settings = with_sim(orders_settings, sim_url)
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(run_service(settings, options)) for _ in range(2)]


async def test_sync_sent_to_a_follower_makes_the_leader_poll(
    replicas: list[OrdersService], sim_url: str
) -> None:
    async def one_polled() -> bool:  # the elected leader polls at once
        return sum(s.polls_done for s in replicas) >= 1

    await until(one_polled, 30)
    leader, follower = sorted(replicas, key=lambda s: -s.polls_done)
    assert follower.polls_done == 0
    await sim_post(sim_url, "/_sim/requests/clear", {})
    due = leader.polls_started + 1  # the poll the request starts, not one already running

    await request_sync(follower, "listings")
    await until(lambda: leader.polls_done >= due, 30, what="the leader's poll")
    assert follower.polls_done == 0
    paths = [r["path"] for r in (await sim_get(sim_url, "/_sim/requests"))["requests"]]
    assert LISTINGS in paths
    assert not [p for p in paths if p in ORDER_LISTS]  # only what was asked


async def test_sync_without_a_poller_leader_is_unavailable(orders: OrdersService) -> None:
    with pytest.raises(Unavailable):
        await request_sync(orders, "all")
