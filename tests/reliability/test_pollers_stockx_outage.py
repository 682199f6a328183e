"""StockX answering 5xx to everything for three minutes: the catalog refresh poller and the market
poller ride it out (nothing given up, no task dead) and converge right after it, not a poll
interval later.

A served simulator, a catalog runtime refreshing its products every second (TTL 20 s) and a
pricing runtime whose market poller refreshes each of 8 products every 240 s. The outage starts
with the poller, so most products come due inside it; during it every product's market moves.
Within 100 s of its end (well under the 240 s interval) every product's new market is mirrored
and every catalog product was refreshed again. Before, the market poller counted each failed
call as that product's poll, so a product due in the outage waited a whole interval more.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import time
from collections.abc import Iterator

import httpx
import msgspec
import pytest

from soleflip.catalog.app import build_service
from soleflip.catalog.pollers import MAX_REFRESH_FAILURES
from soleflip.catalog.settings import CatalogSettings
from soleflip.common.bus import Names
from soleflip.common.db import migrate
from soleflip.common.runtime import ServiceRuntime
from soleflip.pricing.app import SERVICE, STREAMS
from soleflip.pricing.pollers import MAX_POLL_FAILURES, MarketPoller
from soleflip.pricing.service import PricingService
from soleflip.pricing.settings import PricingSettings
from soleflip.stockx_sim.process import served_simulator
from tests.integration.catalog.support import enrich_sku
from tests.support.sim import settings_for
from tests.support.wait import until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]

OUTAGE_S = 180.0
MARKET_INTERVAL_S = 240.0
CONVERGE_S = 100.0
PRODUCTS = 8


@pytest.fixture
def sim_url() -> Iterator[str]:
    with served_simulator(rate_per_s=0, seed=17, products=PRODUCTS) as url:
        yield url


def _migrations(service: str) -> importlib.resources.abc.Traversable:
    return importlib.resources.files(f"soleflip.{service}").joinpath("migrations")


async def test_pollers_resume_and_converge_after_three_minutes_of_5xx(
    fresh_database: str, nats_url: str, names: Names, sim_url: str
) -> None:
    for service in ("catalog", "pricing"):
        await migrate(fresh_database, service, _migrations(service))
    base = settings_for(fresh_database, nats_url, names, sim_url)
    sim = httpx.AsyncClient(base_url=sim_url, timeout=30)
    products = (await sim.get("/_sim/state/products")).json()["products"]
    catalog = build_service(
        base, CatalogSettings(refresh_ttl_s=20.0, refresh_interval_s=1.0, fetch_timeout_s=0.4)
    )
    # Pricing's runtime with its StockX client but no tasks: the test runs the poller itself.
    pricing = ServiceRuntime(
        SERVICE, msgspec.structs.replace(base, stockx_daily_budget=10**8), streams=STREAMS
    )
    async with catalog.runtime.lifespan(), pricing.lifespan():
        for product in products:
            await enrich_sku(catalog.pool, catalog.runtime.stockx, product["styleId"], ttl_s=60)
            await pricing.pool.execute(
                "INSERT INTO variant (variant_id, product_id) VALUES ($1, $2)"
                " ON CONFLICT DO NOTHING",
                product["variants"][0]["variantId"], product["productId"],
            )  # fmt: skip
        poller = MarketPoller(PricingService(pricing, pricing_settings()))
        await sim.put("/_sim/faults", json={"error_rate": 1.0})
        market = asyncio.create_task(poller.run())
        try:
            asks = {}
            for index, product in enumerate(products):
                variant = product["variants"][0]["variantId"]
                asks[variant] = 500 + index
                await sim.put(
                    "/_sim/market",
                    json={"variant_id": variant, "currency": "EUR", "lowest_ask": 500 + index,
                          "highest_bid": 100},
                )  # fmt: skip
            await asyncio.sleep(OUTAGE_S)
            await sim.put("/_sim/faults", json={"error_rate": 0.0})
            ended = time.time()

            async def mirrored() -> bool:
                rows = await pricing.pool.fetch(
                    "SELECT variant_id, lowest_ask FROM market_latest WHERE currency = 'EUR'"
                )
                seen = {r["variant_id"]: int(r["lowest_ask"] or 0) for r in rows}
                return all(seen.get(v) == ask for v, ask in asks.items())

            async def refreshed() -> bool:
                oldest = await catalog.pool.fetchval("SELECT min(last_enriched_at) FROM product")
                return bool(oldest and oldest.timestamp() > ended)

            await until(mirrored, CONVERGE_S, what="market mirrored after the outage")
            await until(refreshed, CONVERGE_S, what="catalog refreshed after the outage")
            assert not market.done()  # the poller task never died
        finally:
            market.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await market
        given_up = await pricing.pool.fetchval(
            "SELECT count(*) FROM market_poll_failure WHERE failures >= $1", MAX_POLL_FAILURES
        )
        parked = await catalog.pool.fetchval(
            "SELECT count(*) FROM product WHERE refresh_failures >= $1", MAX_REFRESH_FAILURES
        )
    await sim.aclose()
    assert given_up == 0
    assert parked == 0


def pricing_settings() -> PricingSettings:
    return PricingSettings(
        min_poll_interval_s=MARKET_INTERVAL_S, tier_weights=(1.0, 1.0, 1.0), poll_tick_s=0.5
    )
