"""The market poller against the StockX simulator: per-product calls on refresh tiers, counted in
the simulator's request log over two simulated hours, and over a whole simulated day (marked
slow, about two minutes): 2,000+ variants over 200 products; the log keeps 10,000 entries, and the
day's share (10,000 minus one poll of headroom per product) fits."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from soleflip.pricing.pollers import DAY_S, MarketPoller
from soleflip.pricing.service import PricingService
from soleflip.pricing.settings import PricingSettings
from soleflip.stockx_sim import SimConfig
from soleflip.stockx_sim.clock import parse_iso
from tests.integration.pricing.conftest import Service, Sim, in_process_sim

TICK_S = 60.0


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    config = SimConfig(
        seed=11, products=200, listings=0, orders=0, rate_per_s=0, daily_limit=10**9,
        settle_delay_s=0.0, token_ttl_s=10**8,
    )  # fmt: skip
    async with in_process_sim(config) as served:
        yield served


async def _track(service: Service, products: list[dict[str, Any]]) -> dict[str, str]:
    """Catalog knows every variant; 40 products have a listing, 40 more unsold stock."""
    tiers: dict[str, str] = {}
    async with service.runtime.pool.acquire() as conn:
        for index, product in enumerate(products):
            pid = product["productId"]
            variants = [v["variantId"] for v in product["variants"]]
            await conn.execute(
                "INSERT INTO variant (variant_id, product_id) SELECT unnest($1::text[]), $2",
                variants, pid,
            )  # fmt: skip
            if index < 40:
                tiers[pid] = "listed"
                await conn.execute(
                    "INSERT INTO listing (listing_id, status, variant_id, amount, currency)"
                    " VALUES ($1, 'ACTIVE', $2, 150, 'EUR')",
                    f"L{index}", variants[0],
                )  # fmt: skip
            elif index < 80:
                tiers[pid] = "stocked"
                await conn.execute(
                    "INSERT INTO stock_item VALUES ($1, $2, NULL, 'IN_STOCK', 80, 'EUR')",
                    index, variants[0],
                )  # fmt: skip
            else:
                tiers[pid] = "tracked"
    return tiers


@pytest.mark.parametrize(
    "hours",
    [2, pytest.param(24, marks=[pytest.mark.slow, pytest.mark.timeout(900)], id="full-day")],
)
async def test_market_refresh_fits_its_budget_share_by_tier(
    service: Service, sim: Sim, hours: int
) -> None:
    products = (await sim.http.get("/_sim/state/products")).json()["products"]
    assert len(products) == 200
    assert sum(len(p["variants"]) for p in products) >= 2000
    tiers = await _track(service, products)
    await sim.http.post("/_sim/requests/clear")
    settings = PricingSettings()
    poller = MarketPoller(
        PricingService(service.runtime, settings, service.clock), stockx=lambda: sim.client
    )
    for _ in range(int(hours * 3600 / TICK_S)):
        await poller.tick()
        service.clock.advance(TICK_S)
    log = (await sim.http.get("/_sim/requests")).json()["requests"]
    market_calls = [r["path"] for r in log if r["path"].endswith("/market-data")]
    assert len(market_calls) == len(log)  # the product endpoint only, never per variant
    share = service.runtime.settings.stockx_daily_budget * settings.market_budget_share
    allowed = share * hours * 3600 / DAY_S
    print(f"{len(market_calls)} market-data calls in {hours} h, share {allowed:.0f}")
    assert 0.8 * allowed <= len(market_calls) <= allowed, (len(market_calls), allowed)
    per_product = Counter(path.split("/")[-2] for path in market_calls)
    by_tier: dict[str, list[int]] = {"listed": [], "stocked": [], "tracked": []}
    for pid, tier in tiers.items():
        by_tier[tier].append(per_product[pid])
    assert min(by_tier["listed"]) >= int(hours * 3600 // poller.intervals["listed"])
    assert sum(by_tier["listed"]) / 40 > 2 * sum(by_tier["stocked"]) / 40
    assert sum(by_tier["stocked"]) / 40 > sum(by_tier["tracked"]) / 120
    snapshots = await service.fetchval("SELECT count(DISTINCT variant_id) FROM market_latest")
    assert snapshots >= 1000  # polled data went through the same path as webhooks


def max_window(times: list[float], window_s: float) -> int:
    """The most entries of `times` (sorted) inside any `window_s`-long window."""
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window_s:
            start += 1
        most = max(most, end - start + 1)
    return most


async def _list(service: Service, product: dict[str, Any], listing_id: str) -> None:
    variant = product["variants"][0]["variantId"]
    await service.runtime.pool.execute(
        "INSERT INTO listing (listing_id, status, variant_id, amount, currency)"
        " VALUES ($1, 'ACTIVE', $2, 150, 'EUR')",
        listing_id, variant,
    )  # fmt: skip


async def test_market_calls_stay_within_the_share_in_every_window_as_tiers_change(
    service: Service, sim: Sim
) -> None:
    """Start-up with listings arriving after the first tick, then at 1 h listings expire and
    others start: calls in any 10 sim minutes stay within 1.2 x the share's 10 minutes."""
    products = (await sim.http.get("/_sim/state/products")).json()["products"]
    async with service.runtime.pool.acquire() as conn:
        for index, product in enumerate(products):
            variants = [v["variantId"] for v in product["variants"]]
            await conn.execute(
                "INSERT INTO variant (variant_id, product_id) SELECT unnest($1::text[]), $2",
                variants, product["productId"],
            )  # fmt: skip
            if index < 80:
                await conn.execute(
                    "INSERT INTO stock_item VALUES ($1, $2, NULL, 'IN_STOCK', 80, 'EUR')",
                    index, variants[0],
                )  # fmt: skip
    await sim.http.post("/_sim/requests/clear")
    settings = PricingSettings()
    poller = MarketPoller(
        PricingService(service.runtime, settings, service.clock), stockx=lambda: sim.client
    )
    for minute in range(120):
        if minute == 2:  # orders' first listing sync reaches pricing
            for index in range(60):
                await _list(service, products[index], f"L{index}")
        if minute == 60:  # half of them expire, listings for tracked products start
            await service.runtime.pool.execute(
                "UPDATE listing SET status = 'EXPIRED' WHERE listing_id = ANY($1)",
                [f"L{index}" for index in range(30)],
            )
            for index in range(120, 180):
                await _list(service, products[index], f"L{index}")
        await poller.tick()
        service.clock.advance(TICK_S)
        await sim.http.post("/_sim/advance", json={"seconds": TICK_S})
    log = (await sim.http.get("/_sim/requests")).json()["requests"]
    times = sorted(parse_iso(r["time"]) for r in log if r["path"].endswith("/market-data"))
    share_per_window = (
        service.runtime.settings.stockx_daily_budget * settings.market_budget_share * 600 / DAY_S
    )
    peak = max_window(times, 600.0)
    print(f"{len(times)} calls in 2 h, peak {peak} per 10 min, share {share_per_window:.1f}")
    assert peak <= 1.2 * share_per_window, (peak, share_per_window)
    # The share is used, not starved: at least 80 % of it over the two hours.
    assert len(times) >= 0.8 * share_per_window * 12, len(times)
