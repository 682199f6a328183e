"""The market poller's refresh plan: tiers, budget share and spreading (a computed schedule over a
simulated day; the integration test measures real calls against the simulator's request log)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from soleflip.common.settings import Settings
from soleflip.pricing.pollers import (
    DAY_S,
    SHARE_RATE_HEADROOM,
    TIERS,
    MarketPoller,
    ShareBucket,
    phase,
    planned_calls_per_day,
    refresh_intervals,
)
from soleflip.pricing.service import PricingService
from soleflip.pricing.settings import PricingSettings

SETTINGS = PricingSettings()
WEIGHTS = dict(zip(TIERS, SETTINGS.tier_weights, strict=True))
SHARE = 25_000 * SETTINGS.market_budget_share  # 10,000 calls/day


def simulate_day(
    products: list[tuple[str, str]], calls_per_day: float, tick_s: float
) -> dict[str, int]:
    """Run the poller's own scheduling (`due`, `polled`) tick by tick over one day; calls per
    tier. The runtime only lends its settings: nothing here needs a connection."""
    runtime = SimpleNamespace(settings=Settings(stockx_daily_budget=int(calls_per_day / 0.4)))
    service = PricingService(runtime, SETTINGS, lambda: datetime.now(UTC))  # type: ignore[arg-type]
    poller = MarketPoller(service)
    calls = dict.fromkeys(TIERS, 0)
    tiers = dict(products)
    for step in range(int(DAY_S / tick_s)):
        now = step * tick_s
        for due_at, product_id in poller.due(products, 1, now):
            calls[tiers[product_id]] += 1
            poller.polled(product_id, tiers[product_id], due_at, now)
    return calls


def _products(listed: int, stocked: int, tracked: int) -> list[tuple[str, str]]:
    spec = {"listed": listed, "stocked": stocked, "tracked": tracked}
    return [(f"{tier}-{i}", tier) for tier, n in spec.items() for i in range(n)]


@pytest.mark.parametrize(
    ("listed", "stocked", "tracked"), [(60, 60, 80), (200, 0, 0), (10, 40, 150), (0, 0, 200)]
)
def test_a_simulated_day_of_200_products_stays_inside_the_budget_share(
    listed: int, stocked: int, tracked: int
) -> None:
    products = _products(listed, stocked, tracked)
    calls = simulate_day(products, SHARE, tick_s=60.0)
    counts = {"listed": listed, "stocked": stocked, "tracked": tracked}
    planned = planned_calls_per_day(
        counts, refresh_intervals(counts, SHARE, WEIGHTS, SETTINGS.min_poll_interval_s)
    )
    assert sum(calls.values()) <= SHARE
    assert sum(calls.values()) >= 0.97 * planned  # the plan is used, not just respected
    if listed and tracked:
        assert calls["listed"] / listed > 2 * calls["tracked"] / tracked


def test_listed_products_refresh_more_often_than_stocked_and_others() -> None:
    counts = {"listed": 60, "stocked": 60, "tracked": 80}
    intervals = refresh_intervals(counts, SHARE, WEIGHTS, SETTINGS.min_poll_interval_s)
    assert intervals["listed"] < intervals["stocked"] < intervals["tracked"]
    assert math.isclose(planned_calls_per_day(counts, intervals), SHARE - 200)
    # 60 listed products are refreshed about every 12 minutes on 40 % of the key
    assert intervals["listed"] <= 15 * 60


def test_a_small_catalog_is_not_polled_faster_than_the_minimum_interval() -> None:
    intervals = refresh_intervals({"listed": 2, "stocked": 0, "tracked": 0}, SHARE, WEIGHTS, 120.0)
    assert intervals["listed"] == 120.0


def test_phases_spread_first_polls() -> None:
    phases = sorted(phase(f"p{i}") for i in range(1000))
    assert 0 <= phases[0] < 0.01
    assert 0.99 < phases[-1] < 1
    assert abs(phases[500] - 0.5) < 0.05


def test_the_share_bucket_holds_any_ten_minutes_within_1_15_of_the_share() -> None:
    rate = SHARE / DAY_S
    bucket = ShareBucket(rate * SHARE_RATE_HEADROOM)
    granted = []
    for second in range(3600):  # a backlog that would take every call it could get
        while bucket.take(1, float(second)):
            granted.append(second)
    most = max(sum(1 for t in granted if start <= t < start + 600) for start in range(0, 3000, 10))
    assert most <= 1.15 * rate * 600 + 1
    assert len(granted) >= rate * 3600  # and it does not starve the plan


def test_an_overdue_product_whose_interval_shrank_is_spread_not_due_at_once() -> None:
    runtime = SimpleNamespace(settings=Settings())
    service = PricingService(runtime, SETTINGS, lambda: datetime.now(UTC))  # type: ignore[arg-type]
    poller = MarketPoller(service)
    products = [(f"p{i}", "tracked") for i in range(100)]
    poller.due(products, 1, 0.0)
    # Hours later all of them become listed: a 24x shorter interval, every one overdue.
    listed = [(pid, "listed") for pid, _ in products]
    due_now = poller.due(listed, 1, 20_000.0)
    assert len(due_now) < 10  # spread by phase over the new interval, not a burst of 100
