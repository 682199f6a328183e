"""One product StockX fails on never stops the market poller: the others are polled every time,
the failing ones (5xx, 404) are counted in `market_poll_failure` and asked a bounded number of
times; StockX being down for everyone counts nothing against products."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest

from soleflip.common.stockx import ClientConfig, RetryPolicy, StockXError
from soleflip.pricing.pollers import MAX_POLL_FAILURES, MarketPoller
from soleflip.pricing.service import PricingService
from soleflip.pricing.settings import PricingSettings
from soleflip.stockx_sim import SimConfig
from tests.integration.pricing.conftest import Service, Sim, in_process_sim

TICK_S = 60.0
UNKNOWN = "00000000-0000-4000-8000-000000000404"  # a product id StockX answers 404 for


CONFIG = SimConfig(
    seed=5, products=12, listings=0, orders=0, rate_per_s=0, daily_limit=10**9,
    settle_delay_s=0.0, token_ttl_s=10**8,
)  # fmt: skip


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    # One attempt per call and a breaker that never opens: each poll is one request.
    client = ClientConfig(retry=RetryPolicy(max_attempts=1), breaker_threshold=10_000)
    async with in_process_sim(CONFIG, client) as served:
        yield served


@pytest.fixture
async def impatient_sim() -> AsyncIterator[Sim]:
    # A call rate-limited for 2 s gives up (in service it waits up to its 120 s deadline).
    async with in_process_sim(CONFIG, ClientConfig(call_timeout_s=2.0)) as served:
        yield served


async def _products(sim: Sim) -> list[str]:
    found = (await sim.http.get("/_sim/state/products")).json()["products"]
    return [p["productId"] for p in found]


async def _track(service: Service, product_ids: list[str]) -> None:
    for index, product_id in enumerate(product_ids):
        await service.runtime.pool.execute(
            "INSERT INTO variant (variant_id, product_id) VALUES ($1, $2)", f"v{index}", product_id
        )


def _market_calls(log: list[dict[str, object]]) -> Counter[str]:
    return Counter(str(r["path"]).split("/")[-2] for r in log if "/market-data" in str(r["path"]))


async def test_failing_products_are_bounded_and_the_others_polled_every_time(
    service: Service, sim: Sim
) -> None:
    products = [
        p["productId"] for p in (await sim.http.get("/_sim/state/products")).json()["products"]
    ]
    broken = products[0]
    await _track(service, [*products, UNKNOWN])
    await sim.http.put("/_sim/faults", json={"failing_ids": [broken]})
    await sim.http.post("/_sim/requests/clear")
    settings = PricingSettings(tier_weights=(1.0, 1.0, 1.0), min_poll_interval_s=TICK_S)
    poller = MarketPoller(
        PricingService(service.runtime, settings, service.clock), stockx=lambda: sim.client
    )
    for _ in range(3 * MAX_POLL_FAILURES):
        await poller.tick()
        service.clock.advance(TICK_S)

    calls = _market_calls((await sim.http.get("/_sim/requests")).json()["requests"])
    assert calls[broken] == MAX_POLL_FAILURES
    assert calls[UNKNOWN] == MAX_POLL_FAILURES
    healthy = [calls[p] for p in products[1:]]
    assert min(healthy) >= MAX_POLL_FAILURES + 2, healthy  # one poll per interval each
    rows = await service.runtime.pool.fetch(
        "SELECT product_id, failures, last_error FROM market_poll_failure ORDER BY product_id"
    )
    assert {r["product_id"]: r["failures"] for r in rows} == {
        broken: MAX_POLL_FAILURES,
        UNKNOWN: MAX_POLL_FAILURES,
    }


async def test_stockx_rate_limiting_everyone_counts_nothing_and_keeps_products_due(
    service: Service, impatient_sim: Sim
) -> None:
    sim = impatient_sim
    products = [
        p["productId"] for p in (await sim.http.get("/_sim/state/products")).json()["products"]
    ]
    await _track(service, products)
    even = PricingSettings(tier_weights=(1.0, 1.0, 1.0))
    poller = MarketPoller(
        PricingService(service.runtime, even, service.clock), stockx=lambda: sim.client
    )
    service.clock.advance(3600)  # every product due
    await poller.tick()
    service.clock.advance(3600)
    await sim.http.put("/_sim/faults", json={"storm_s": 600})  # 429 for everyone
    with pytest.raises(StockXError):
        await poller.tick()
    assert await service.fetchval("SELECT count(*) FROM market_poll_failure") == 0
    await sim.http.put("/_sim/faults", json={"storm_s": 0})
    report = await poller.tick()
    assert report.failures == 0
    assert report.due == len(products)  # all still due: the storm moved no cadence
    assert report.calls > 0
