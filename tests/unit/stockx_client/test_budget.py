"""The shared budget's rules on an in-memory KV: spacing across instances (processes), priority
by horizon, daily reserves, deadlines and 429 feedback. Multi-process runs against real NATS are
in tests/integration/stockx_client."""

from __future__ import annotations

import asyncio
import bisect
import time

import pytest

from soleflip.common.stockx import (
    KvBudget,
    MemoryKv,
    Priority,
    StockXBudgetExhausted,
    StockXBudgetTimeout,
)


def budget(kv: MemoryKv, rate: float = 50.0, daily: int = 25_000, **kw: object) -> KvBudget:
    return KvBudget(kv, key="k", rate_per_s=rate, daily=daily, **kw)  # type: ignore[arg-type]


async def test_grants_from_several_instances_are_spaced_by_the_rate_plus_margin() -> None:
    kv = MemoryKv()
    instances = [budget(kv), budget(kv), budget(kv)]
    stamps: list[float] = []

    async def caller(b: KvBudget) -> None:
        for _ in range(5):
            await b.acquire(Priority.LISTING_SYNC, 10)
            stamps.append(time.time())

    await asyncio.gather(*(caller(b) for b in instances for _ in range(2)))
    stamps.sort()
    assert len(stamps) == 30
    # Rate 50/s: never more than 10 grants in any 0.2 s (spacing 22 ms leaves 42 ms for jitter),
    busiest = max(bisect.bisect_left(stamps, t + 0.2) - i for i, t in enumerate(stamps))
    assert busiest <= 10
    # and the rate is actually used (30 grants at 22 ms spacing take about 0.64 s).
    assert stamps[-1] - stamps[0] < 29 * 0.022 * 1.5


async def test_a_user_write_overtakes_a_saturating_catalog_load() -> None:
    kv = MemoryKv()
    # 20 instances stand for 20 processes, each with its own contender for every slot: without
    # priorities the user write would win about one slot in 21 (~1 s at 20/s).
    lows = [budget(kv, rate=20) for _ in range(20)]
    high = budget(kv, rate=20)
    stop = asyncio.Event()

    async def background(b: KvBudget) -> None:
        while not stop.is_set():
            await b.acquire(Priority.CATALOG_REFRESH, 30)

    workers = [asyncio.create_task(background(b)) for b in lows]
    await asyncio.sleep(0.3)
    waits = []
    for _ in range(3):
        started = time.monotonic()
        await high.acquire(Priority.USER_WRITE, 5)
        waits.append(time.monotonic() - started)
    stop.set()
    await asyncio.gather(*workers)
    assert max(waits) < 0.3, waits  # spacing is 55 ms


async def test_daily_budget_keeps_a_reserve_for_higher_priorities() -> None:
    kv = MemoryKv()
    b = budget(kv, rate=1_000_000, daily=10)
    for _ in range(8):  # catalog refresh may use 80 %
        await b.acquire(Priority.CATALOG_REFRESH, 1)
    with pytest.raises(StockXBudgetExhausted) as caught:
        await b.acquire(Priority.CATALOG_REFRESH, 1)
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 86_400
    await b.acquire(Priority.ORDER_SYNC, 1)  # 95 % -> the 9th
    await b.acquire(Priority.USER_WRITE, 1)  # 100 % -> the 10th
    with pytest.raises(StockXBudgetExhausted):
        await b.acquire(Priority.USER_WRITE, 1)


async def test_the_daily_count_resets_at_utc_midnight() -> None:
    now = [1_700_000_000.0 - 1_700_000_000.0 % 86_400 + 86_399.0]  # 23:59:59 UTC

    async def sleep(seconds: float) -> None:  # the fake clock moves only when we wait
        now[0] += seconds

    b = budget(MemoryKv(), rate=1_000, daily=2, clock=lambda: now[0], sleep=sleep)
    await b.acquire(Priority.USER_WRITE, 1)
    await b.acquire(Priority.USER_WRITE, 1)
    with pytest.raises(StockXBudgetExhausted):
        await b.acquire(Priority.USER_WRITE, 1)
    now[0] += 2
    await b.acquire(Priority.USER_WRITE, 1)


async def test_a_wait_beyond_the_deadline_fails_fast_with_a_typed_error() -> None:
    kv = MemoryKv()
    b = budget(kv)
    await b.penalize(30)  # as after a 429 with Retry-After: 30
    started = time.monotonic()
    with pytest.raises(StockXBudgetTimeout):
        await b.acquire(Priority.USER_WRITE, 0.5)
    assert time.monotonic() - started < 0.1


async def test_a_429_penalty_delays_every_instance() -> None:
    kv = MemoryKv()
    first, second = budget(kv), budget(kv)
    await first.penalize(0.3)
    started = time.monotonic()
    await second.acquire(Priority.USER_WRITE, 5)
    assert time.monotonic() - started >= 0.29


async def test_a_caller_queued_behind_a_same_priority_claimer_still_meets_its_deadline() -> None:
    kv = MemoryKv()
    b = budget(kv, rate=0.5)  # one slot per 2.2 s
    await b.acquire(Priority.MARKET_DATA, 5)  # takes the slot that is due now
    # holds the MARKET_DATA lock for ~2.2 s while it waits for its slot
    blocker = asyncio.create_task(b.acquire(Priority.MARKET_DATA, 10))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(StockXBudgetTimeout):
        await b.acquire(Priority.MARKET_DATA, 0.2)
    assert time.monotonic() - started < 0.5
    blocker.cancel()
