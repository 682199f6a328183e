# ruff: noqa: F811 - a fixture is imported into this module, then requested by name
"""The whole reactive loop with the real orders service: the simulator moves a variant's lowest
ask, its relay signs a webhook to ingest, pricing recommends and requests a reprice, orders
applies it at the simulator; the listing there carries the new price within 2 s.

Everything runs in this event loop against real Postgres and NATS: the simulator and ingest
served over HTTP by uvicorn, orders and pricing as their runtimes (one database, two schemas)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from soleflip.common.bus import Names
from tests.e2e.support import System, list_unit, running_system, sim_listing
from tests.integration.orders.support import sim_post
from tests.integration.pricing.conftest import (
    AUTH,
    streams_cleanup,  # noqa: F401 - a fixture
)

SETTLED = "SELECT amount = $1 AND pending_amount IS NULL FROM listing"


@pytest.fixture
async def system(
    fresh_database: str, nats_url: str, names: Names, streams_cleanup: None
) -> AsyncIterator[System]:
    async with running_system(fresh_database, nats_url, names, relay=True) as running:
        yield running


async def _wait_for_amount(system: System, listing_id: str, amount: str) -> None:
    async with asyncio.timeout(5):
        while True:
            if (await sim_listing(system, listing_id))["amount"] == amount:
                return
            await asyncio.sleep(0.02)


async def test_market_move_reprices_through_orders_at_the_simulator_within_2_s(
    system: System,
) -> None:
    pricing = system.pricing
    rule = {"strategy": "beat_lowest_ask", "auto_reprice": True, "cooldown_s": 0}
    assert (await pricing.client.post("/api/v1/rules", json=rule, headers=AUTH)).status_code == 201
    switch = {"enabled": True}
    assert (
        await pricing.client.put("/api/v1/autoreprice", json=switch, headers=AUTH)
    ).status_code == 200
    listing_id, variant_id = await list_unit(system, 200, external_id="e2e-1")
    ready = (
        "SELECT count(*) FROM listing l JOIN stock_item s USING (stock_item_id)"
        " WHERE l.status = 'ACTIVE'"
    )
    await pricing.until(lambda: pricing.fetchval(ready), within=15)
    assert (await sim_listing(system, listing_id))["amount"] == "200"
    body = {"variant_id": variant_id, "currency": "EUR", "lowest_ask": 150, "highest_bid": 120}
    started = time.monotonic()
    await sim_post(system.sim, "/_sim/market", body, method="PUT")
    await _wait_for_amount(system, listing_id, "149")
    elapsed = time.monotonic() - started
    print(f"orders repriced the simulator listing {elapsed:.3f} s after the market move")
    assert elapsed < 2.0
    # the loop ends: orders reports the listing back at 149 and pricing's request settles
    settled = "SELECT amount = 149 AND pending_amount IS NULL FROM listing"
    await pricing.until(lambda: pricing.fetchval(settled), within=10)


async def _amount_changes(system: System, listing_id: str, old: str, within: float) -> str | None:
    """The listing's new amount at the simulator, or None if it keeps `old` for `within` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        amount: str = (await sim_listing(system, listing_id))["amount"]
        if amount != old:
            return amount
        await asyncio.sleep(0.05)
    return None


async def test_ask_war_through_orders_stops_at_the_floor(system: System) -> None:
    """Another seller undercuts our ask by 5 each time; we beat the lowest ask by 5."""
    pricing = system.pricing
    rule = {
        "strategy": "beat_lowest_ask",
        "beat_amount": "5",
        "auto_reprice": True,
        "cooldown_s": 0,
    }
    assert (await pricing.client.post("/api/v1/rules", json=rule, headers=AUTH)).status_code == 201
    await pricing.client.put("/api/v1/autoreprice", json={"enabled": True}, headers=AUTH)
    listing_id, variant_id = await list_unit(system, 160, external_id="e2e-1")
    ready = "SELECT count(*) FROM listing l JOIN stock_item s USING (stock_item_id)"
    await pricing.until(lambda: pricing.fetchval(ready + " WHERE l.status = 'ACTIVE'"), within=15)
    ours, prices = "160", []
    for _ in range(20):
        body = {"variant_id": variant_id, "currency": "EUR", "lowest_ask": int(ours) - 5}
        await sim_post(system.sim, "/_sim/market", body, method="PUT")
        changed = await _amount_changes(system, listing_id, ours, within=2.0)
        if changed is None:
            break  # we hold at the floor: the war is over
        ours = changed
        prices.append(int(ours))
        await pricing.until(lambda a=Decimal(ours): pricing.fetchval(SETTLED, a), within=10)
    assert prices[-1] == 103  # the floor for a landed cost of EUR 80 at level 1
    assert prices == sorted(prices, reverse=True)
    assert len(prices) == len(set(prices))
