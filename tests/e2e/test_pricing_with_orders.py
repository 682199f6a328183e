# ruff: noqa: F811 - a fixture is imported into this module, then requested by name
"""The whole reactive loop with the real orders service: the simulator moves a variant's lowest
ask, its relay signs a webhook to ingest, pricing recommends and requests a reprice, orders
applies it at the simulator; the listing there carries the new price within 2 s.

Everything runs in this event loop against real Postgres and NATS: the simulator and ingest
served over HTTP by uvicorn, orders and pricing as their runtimes (one database, two schemas)."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files
from typing import Any

import httpx
import msgspec
import pytest

from soleflip.common.bus import Names
from soleflip.common.contracts.bounds import Money
from soleflip.common.contracts.ingest import ItemPurchase
from soleflip.common.db import UnitOfWork, migrate
from soleflip.ingest.app import create_app as create_ingest_app
from soleflip.orders.handlers import CreateListing, create_listing, record_purchases
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from soleflip.pricing.app import create_app as create_pricing_app
from tests.integration.orders.support import (
    migrate_orders,
    run_service,
    running_sim,
    serving,
    sim_config,
    sim_get,
    sim_post,
    with_sim,
)
from tests.integration.pricing.conftest import (
    AUTH,
    Clock,
    Service,
    make_settings,
    pricing_settings,
    streams_cleanup,  # noqa: F401 - a fixture
)

SETTLED = "SELECT amount = $1 AND pending_amount IS NULL FROM listing"
SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Loop:
    """The running system of one test."""

    def __init__(self, sim: str, orders: OrdersService, pricing: Service) -> None:
        self.sim, self.orders, self.pricing = sim, orders, pricing


@pytest.fixture
async def loop(
    fresh_database: str, nats_url: str, names: Names, streams_cleanup: None
) -> AsyncIterator[Loop]:
    await migrate_orders(fresh_database)
    await migrate(fresh_database, "pricing", files("soleflip.pricing").joinpath("migrations"))
    settings = make_settings(fresh_database, nats_url, names)
    async with running_sim(sim_config(products=10, listings=0, orders=0)) as sim:
        base = msgspec.structs.replace(with_sim(settings, sim), fernet_keys=(_fernet(),))
        ingest_settings = msgspec.structs.replace(base, webhook_secrets_stockx=(SECRET,))
        options = OrdersSettings(polling=False, operation_poll_s=0.1)
        app = create_pricing_app(base, pricing_settings(), clock=Clock(), poll=False)
        transport = httpx.ASGITransport(app=app)
        async with (
            serving(create_ingest_app(ingest_settings)) as ingest,
            run_service(base, options) as orders,
            app.state.runtime.lifespan(),
            httpx.AsyncClient(transport=transport, base_url="http://pricing") as client,
        ):
            relay = {"url": f"{ingest}/webhooks/stockx", "secret": SECRET}
            await sim_post(sim, "/_sim/relay", relay, method="PUT")
            yield Loop(sim, orders, Service(client, app.state.runtime, Clock()))


def _fernet() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


async def _list_stock(loop: Loop, amount: int) -> tuple[str, str]:
    """Buy one unit (orders resolves its variant at StockX) and list it; (listing, variant)."""
    product = (await sim_get(loop.sim, "/_sim/state/products"))["products"][2]
    variant = product["variants"][5]
    purchase = ItemPurchase(
        sku=product["styleId"], size=variant["variantValue"], size_type="us m", quantity=1,
        unit_cost=Money(amount=Decimal("80.00"), currency="EUR"),
        purchased_at=datetime(2026, 3, 1, tzinfo=UTC), supplier="e2e", external_id="e2e-1",
    )  # fmt: skip
    async with UnitOfWork(loop.orders.pool) as uow:
        [unit] = await record_purchases([purchase], conn=uow.conn)
        await uow.commit()
    async with UnitOfWork(loop.orders.pool) as uow:
        command = CreateListing(unit, Decimal(amount), "EUR", True)
        accepted = await create_listing(command, uow=uow, stockx=loop.orders.stockx)
        await uow.commit()  # handlers never commit: the caller does
    return accepted.listing_id, variant["variantId"]


async def _sim_listing(loop: Loop, listing_id: str) -> dict[str, Any]:
    listings = (await sim_get(loop.sim, "/_sim/state/listings"))["listings"]
    found: dict[str, Any] = next(x for x in listings if x["listingId"] == listing_id)
    return found


async def _wait_for_amount(loop: Loop, listing_id: str, amount: str) -> None:
    async with asyncio.timeout(5):
        while True:
            if (await _sim_listing(loop, listing_id))["amount"] == amount:
                return
            await asyncio.sleep(0.02)


async def test_market_move_reprices_through_orders_at_the_simulator_within_2_s(loop: Loop) -> None:
    pricing = loop.pricing
    rule = {"strategy": "beat_lowest_ask", "auto_reprice": True, "cooldown_s": 0}
    assert (await pricing.client.post("/api/v1/rules", json=rule, headers=AUTH)).status_code == 201
    switch = {"enabled": True}
    assert (
        await pricing.client.put("/api/v1/autoreprice", json=switch, headers=AUTH)
    ).status_code == 200
    listing_id, variant_id = await _list_stock(loop, 200)
    ready = (
        "SELECT count(*) FROM listing l JOIN stock_item s USING (stock_item_id)"
        " WHERE l.status = 'ACTIVE'"
    )
    await pricing.until(lambda: pricing.fetchval(ready), within=15)
    assert (await _sim_listing(loop, listing_id))["amount"] == "200"
    body = {"variant_id": variant_id, "currency": "EUR", "lowest_ask": 150, "highest_bid": 120}
    started = time.monotonic()
    await sim_post(loop.sim, "/_sim/market", body, method="PUT")
    await _wait_for_amount(loop, listing_id, "149")
    elapsed = time.monotonic() - started
    print(f"orders repriced the simulator listing {elapsed:.3f} s after the market move")
    assert elapsed < 2.0
    # the loop ends: orders reports the listing back at 149 and pricing's request settles
    settled = "SELECT amount = 149 AND pending_amount IS NULL FROM listing"
    await pricing.until(lambda: pricing.fetchval(settled), within=10)


async def _amount_changes(loop: Loop, listing_id: str, old: str, within: float) -> str | None:
    """The listing's new amount at the simulator, or None if it keeps `old` for `within` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        amount: str = (await _sim_listing(loop, listing_id))["amount"]
        if amount != old:
            return amount
        await asyncio.sleep(0.05)
    return None


async def test_ask_war_through_orders_stops_at_the_floor(loop: Loop) -> None:
    """Another seller undercuts our ask by 5 each time; we beat the lowest ask by 5."""
    pricing = loop.pricing
    rule = {
        "strategy": "beat_lowest_ask",
        "beat_amount": "5",
        "auto_reprice": True,
        "cooldown_s": 0,
    }
    assert (await pricing.client.post("/api/v1/rules", json=rule, headers=AUTH)).status_code == 201
    await pricing.client.put("/api/v1/autoreprice", json={"enabled": True}, headers=AUTH)
    listing_id, variant_id = await _list_stock(loop, 160)
    ready = "SELECT count(*) FROM listing l JOIN stock_item s USING (stock_item_id)"
    await pricing.until(lambda: pricing.fetchval(ready + " WHERE l.status = 'ACTIVE'"), within=15)
    ours, prices = "160", []
    for _ in range(20):
        body = {"variant_id": variant_id, "currency": "EUR", "lowest_ask": int(ours) - 5}
        await sim_post(loop.sim, "/_sim/market", body, method="PUT")
        changed = await _amount_changes(loop, listing_id, ours, within=2.0)
        if changed is None:
            break  # we hold at the floor: the war is over
        ours = changed
        prices.append(int(ours))
        await pricing.until(lambda a=Decimal(ours): pricing.fetchval(SETTLED, a), within=10)
    assert prices[-1] == 103  # the floor for a landed cost of EUR 80 at level 1
    assert prices == sorted(prices, reverse=True)
    assert len(prices) == len(set(prices))
