"""The shared budget's rules on an in-memory KV: spacing across instances (processes), priority
by horizon, daily reserves, deadlines and 429 feedback. Multi-process runs against real NATS are
in tests/integration/stockx_client."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Any

import msgspec
import pytest

from soleflip.common.stockx import (
    MAX_SLOWDOWN,
    BudgetState,
    KvBudget,
    MemoryKv,
    Priority,
    StockXBudgetExhausted,
    StockXBudgetTimeout,
    slowdown,
    usage_of,
)


def budget(kv: MemoryKv, rate: float = 50.0, daily: int = 25_000, **kw: object) -> KvBudget:
    return KvBudget(kv, key="k", rate_per_s=rate, daily=daily, **kw)  # type: ignore[arg-type]


class VirtualTime:
    """A clock that moves only when every coroutine waits on it: `sleep` parks the caller until
    the driver advances the time to its wake-up, so grant times do not depend on machine load."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self.now + seconds, self._seq, future))
        await future

    async def drive(self, done: asyncio.Future[Any]) -> None:
        """Wake the earliest sleeper whenever the others have run out of work."""
        while not done.done():
            for _ in range(20):  # let every runnable coroutine reach its next wait
                await asyncio.sleep(0)
            if not self._sleepers:
                await asyncio.sleep(0.001)  # someone is in a real wait (the local limiter)
                continue
            wake, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            future.set_result(None)


class SlotLog(MemoryKv):
    """Records the slot each successful claim took (`next` minus the spacing it wrote)."""

    def __init__(self, spacing: float) -> None:
        super().__init__()
        self.slots: list[float] = []
        self._spacing = spacing

    async def update(self, key: str, value: bytes, last: int) -> int:
        revision = await super().update(key, value, last)
        self.slots.append(msgspec.json.decode(value, type=BudgetState).next - self._spacing)
        return revision


async def test_grants_from_several_instances_are_spaced_by_the_rate_plus_margin() -> None:
    spacing = 1.1 / 50  # rate 50/s plus the 10 % safety margin
    kv, time_ = SlotLog(spacing), VirtualTime()
    instances = [budget(kv, clock=time_.clock, sleep=time_.sleep) for _ in range(3)]

    async def caller(b: KvBudget) -> None:
        for _ in range(5):
            await b.acquire(Priority.LISTING_SYNC, 10)

    callers = asyncio.gather(*(caller(b) for b in instances for _ in range(2)))
    await asyncio.gather(callers, time_.drive(callers))
    assert len(kv.slots) == 30
    gaps = [later - earlier for earlier, later in itertools.pairwise(kv.slots)]
    # Every slot is exactly one spacing after the previous one, whichever instance took it:
    # never closer (the rate holds) and never further (the rate is fully used).
    # (Tolerance: epoch seconds as floats resolve to about 0.2 us.)
    assert min(gaps) == pytest.approx(spacing, abs=1e-6)
    assert max(gaps) == pytest.approx(spacing, abs=1e-6)


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


async def test_local_pacing_holds_one_process_to_the_rate_even_with_a_broken_clock() -> None:
    # Every reading of this clock lies 1000 s further ahead, so every shared slot looks long
    # overdue and the KV grants at once: only the local limiter keeps the pace.
    readings = itertools.count()
    b = budget(MemoryKv(), rate=20, clock=lambda: time.time() + 1000 * next(readings))
    started = time.monotonic()
    for _ in range(6):
        await b.acquire(Priority.USER_WRITE, 5)
    assert time.monotonic() - started >= 5 * 0.05 * 0.95  # five gaps of 1/20 s (loop tick slack)


async def _state(kv: MemoryKv) -> BudgetState:
    found = await kv.get("k")
    assert found is not None
    return msgspec.json.decode(found[0], type=BudgetState)


async def test_a_429_halves_the_shared_rate_for_every_instance_then_it_recovers() -> None:
    now = [1_700_000_000.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    kv = MemoryKv()
    first = budget(kv, rate=10, clock=lambda: now[0], sleep=sleep, slow_hold_s=60)
    second = budget(kv, rate=10, clock=lambda: now[0], sleep=sleep, slow_hold_s=60)
    await first.penalize(1.0)  # a 429 seen by the first process
    await second.acquire(Priority.USER_WRITE, 5)
    slot = (await _state(kv)).next
    await second.acquire(Priority.USER_WRITE, 5)
    assert (await _state(kv)).next - slot == pytest.approx(0.22)  # 2 x 1.1 / rate
    now[0] += 60 + 1  # the hold is over: back to the full rate
    await second.acquire(Priority.USER_WRITE, 5)
    slot = (await _state(kv)).next
    await second.acquire(Priority.USER_WRITE, 5)
    assert (await _state(kv)).next - slot == pytest.approx(0.11)


async def test_one_burst_of_429s_halves_once_and_repeated_bursts_compound_up_to_a_floor() -> None:
    now = [1_700_000_000.0]
    kv = MemoryKv()
    b = budget(kv, rate=10, clock=lambda: now[0], slow_hold_s=60)
    for _ in range(5):  # five callers hit by the same burst
        await b.penalize(0.5)
    assert (await _state(kv)).slow == 2.0
    for _ in range(10):
        now[0] += 3
        await b.penalize(0.5)
    assert (await _state(kv)).slow == MAX_SLOWDOWN


def test_the_slowdown_steps_back_one_halving_per_hold() -> None:
    state = BudgetState(slow=8.0, slow_until=100.0)
    assert slowdown(state, 99.0, 60) == 8.0
    assert slowdown(state, 100.0, 60) == 4.0
    assert slowdown(state, 161.0, 60) == 2.0
    assert slowdown(state, 400.0, 60) == 1.0


def test_a_record_written_before_the_slowdown_existed_still_decodes() -> None:
    old = msgspec.json.encode({"next": 5.0, "day": "2026-01-01", "used": 3})
    state = msgspec.json.decode(old, type=BudgetState)
    assert (state.slow, state.used) == (1.0, 3)


async def test_todays_grants_are_counted_per_priority_in_the_shared_record() -> None:
    kv = MemoryKv()
    b = budget(kv, rate=1_000_000, daily=1_000)
    for priority in (Priority.MARKET_DATA, Priority.MARKET_DATA, Priority.ORDER_SYNC):
        await b.acquire(priority, 1)
    found = await kv.get("k")
    assert found is not None
    state = msgspec.json.decode(found[0], type=BudgetState)
    assert state.used == 3
    assert state.by_priority == {"MARKET_DATA": 2, "ORDER_SYNC": 1}
    usage = usage_of("key.k", state, daily=1_000, now=time.time())
    assert usage.key == "k"
    assert usage.used == 3
    rows = [(p.priority, p.used, p.allowance) for p in usage.by_priority]
    assert rows == [
        ("USER_WRITE", 0, 1_000),
        ("ORDER_SYNC", 1, 950),
        ("LISTING_SYNC", 0, 900),
        ("MARKET_DATA", 2, 850),
        ("CATALOG_REFRESH", 0, 800),
    ]


async def test_the_per_priority_count_starts_over_with_the_utc_day() -> None:
    now = [1_700_000_000.0 - 1_700_000_000.0 % 86_400 + 86_399.0]  # 23:59:59 UTC

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    kv = MemoryKv()
    b = budget(kv, rate=1_000, daily=100, clock=lambda: now[0], sleep=sleep)
    await b.acquire(Priority.ORDER_SYNC, 1)
    now[0] += 2
    await b.acquire(Priority.USER_WRITE, 1)
    found = await kv.get("k")
    assert found is not None
    state = msgspec.json.decode(found[0], type=BudgetState)
    assert state.by_priority == {"USER_WRITE": 1}
    yesterday = usage_of("key.k", state, daily=100, now=now[0] - 86_400)
    assert yesterday.used == 0
    assert all(p.used == 0 for p in yesterday.by_priority)


def test_a_record_written_before_the_priority_split_decodes_with_none() -> None:
    old = msgspec.json.encode({"next": 5.0, "day": "2026-01-01", "used": 3, "slow": 1.0})
    assert msgspec.json.decode(old, type=BudgetState).by_priority == {}
