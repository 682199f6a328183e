# ruff: noqa: F811 - the orders fixtures are imported into this module, then requested by name
"""Convergence end to end: simulator → lossy relay → ingest → NATS → orders, then one poll.

The simulator runs a shop of 500 orders and 1,000 listings that changes over simulated days
while its relay drops 30 %, duplicates 20 % and reorders webhooks; after one poll every order and
listing row equals the simulator's state.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator

import msgspec
import pytest

from soleflip.common.bus import Names
from soleflip.common.settings import Settings
from soleflip.ingest.app import create_app as create_ingest_app
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from tests.integration.orders.conftest import orders_dsn, orders_settings  # noqa: F401 - fixtures
from tests.integration.orders.support import (
    mismatches,
    run_service,
    running_sim,
    serving,
    sim_config,
    sim_get,
    sim_post,
    wait_for_poll,
    with_sim,
)
from tests.support.wait import until

pytestmark = pytest.mark.slow
SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
async def ingest_url(orders_settings: Settings) -> AsyncIterator[str]:
    settings = msgspec.structs.replace(orders_settings, webhook_secrets_stockx=(SECRET,))
    async with serving(create_ingest_app(settings)) as url:
        yield url


async def _drained(service: OrdersService, names: Names) -> bool:
    info = await service.runtime.js.consumer_info(
        names.stream("INGEST"), names.durable("orders-ingest")
    )
    return info.num_pending == 0 and info.num_ack_pending == 0


async def _relay_idle(sim_url: str) -> bool:
    return (await sim_get(sim_url, "/_sim/relay"))["pending"] == 0


async def _live_days(sim_url: str, days: int) -> None:
    """Orders move through their lifecycle and buyers keep buying, a quarter day at a time."""
    for _ in range(days * 4):
        await sim_post(sim_url, "/_sim/advance", {"seconds": 6 * 3600})
        for _ in range(5):
            await sim_post(sim_url, "/_sim/orders", {})
        await until(lambda: _relay_idle(sim_url), 60)


async def test_orders_converge_with_stockx_despite_a_lossy_relay(
    orders_settings: Settings, ingest_url: str, names: Names
) -> None:
    async with running_sim(sim_config(orders=500, listings=1000, seed=5)) as sim_url:
        options = OrdersSettings(poll_interval_s=3600)
        async with run_service(with_sim(orders_settings, sim_url), options) as service:
            await wait_for_poll(service, timeout=120)  # the backfill
            relay = {"url": f"{ingest_url}/webhooks/stockx", "secret": SECRET}
            relay |= {"loss": 0.3, "duplicate": 0.2, "reorder": 0.3}
            await sim_post(sim_url, "/_sim/relay", relay, method="PUT")
            await _live_days(sim_url, days=3)
            stats = (await sim_get(sim_url, "/_sim/relay"))["stats"]
            assert stats["dropped"] > 0
            assert stats["duplicated"] > 0
            assert stats["reordered"] > 0
            await until(lambda: _drained(service, names), 60)
            lost = await mismatches(service, sim_url)
            assert lost, "with 30 % loss some rows must lag until the poll"
            await wait_for_poll(service, timeout=120)
            assert await mismatches(service, sim_url) == []
            truth = await sim_get(sim_url, "/_sim/state/orders")
            assert len(truth["orders"]) >= 500


async def test_orders_webhooks_alone_keep_rows_equal_without_loss(
    orders_settings: Settings, ingest_url: str, names: Names
) -> None:
    async with running_sim(sim_config(orders=60, listings=100, seed=9)) as sim_url:
        options = OrdersSettings(poll_interval_s=3600)
        async with run_service(with_sim(orders_settings, sim_url), options) as service:
            await wait_for_poll(service)
            relay = {"url": f"{ingest_url}/webhooks/stockx", "secret": SECRET, "duplicate": 0.2}
            await sim_post(sim_url, "/_sim/relay", relay, method="PUT")
            await _live_days(sim_url, days=2)
            await until(lambda: _drained(service, names), 60)
            await until(lambda: _no_mismatch(service, sim_url), 20)
            async with service.pool.acquire() as conn:
                by_poll = await conn.fetchval(
                    "SELECT count(*) FROM order_status_history WHERE source = 'webhook'"
                )
            assert by_poll > 0


async def _no_mismatch(service: OrdersService, sim_url: str) -> bool:
    return await mismatches(service, sim_url) == []
