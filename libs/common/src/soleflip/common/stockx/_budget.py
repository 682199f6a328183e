"""The shared StockX request budget: 1 request/s and 25,000/day per API key, for every process.

Design (one KV key per API key in the `stockx_budget` bucket, holding `{next, day, used}`):

* **Slots by compare-and-set (GCRA).** `next` is the earliest wall-clock time the next request
  may be sent. To send, a caller reads `(state, revision)`, takes `slot = max(now, next)` and
  writes `next = slot + spacing, used = used + 1` with `update(..., last=revision)`. Only one
  writer can win a revision, so every granted slot is at least `spacing` after the previous
  one, whichever process got it. `spacing = (1 + safety) / rate`: the `safety` margin (10 %)
  absorbs the lateness between a slot and the request reaching StockX, so no 1-s window at the
  server sees more than `rate` requests while utilisation stays above 90 %.
* **Priority by horizon.** A caller of priority `p` (0 = catalog refresh ... 4 = user write) may
  claim a slot only once it lies within `p / 4` of a spacing from now; before that it sleeps
  until it does and re-reads. A saturating load of priority `q` keeps `next` within
  `(q / 4 + 1) * spacing` of now, and a caller of higher priority `p` reaches the claim
  threshold of every slot a quarter spacing before any `q` caller does, so it wins the next slot
  and waits at most `(q / 4 + 1) * spacing` (1.1 s behind catalog refresh, 1.9 s behind order
  sync at 1 request/s). The quarter spacing (250 ms at 1/s) dwarfs the KV round trip that
  decides the race. Higher priorities can starve lower ones; that is the intent, and every wait
  has a deadline.
* **Daily budget with reserves.** `used` counts today's (UTC) grants and resets when `day`
  changes, as StockX's does at 00:00 UTC. Priority `p` is refused once `used` reaches
  `daily * (1 - RESERVE[p])`, so the last 20 % of the day is kept for order sync and writes.
* **Few contenders.** Within a process one coroutine per priority contends (an `asyncio.Lock`
  per priority), so the KV sees at most `processes * 5` CAS attempts per slot, not one per call.
* **Local pacing.** After its slot, a request also passes an `aiolimiter` limiter at the rate,
  so even a broken clock cannot make one process exceed it.
* **429 feedback (adaptive).** A 429 means StockX counts differently than we do (another tool on
  the key, a clock off, a rate set too high), so it slows everyone down: `next` moves past the
  server's `Retry-After` (or the caller's backoff when StockX sends none), and the spacing of
  every process doubles (`slow`, at most `MAX_SLOWDOWN`) for `slow_hold_s`; afterwards it halves
  back one step per further `slow_hold_s` without a 429. 429s within `REARM_S` of the last
  doubling (one burst seen by several callers) double it only once.

Slots are wall-clock times, so processes need synchronised clocks (NTP); skew eats into `safety`.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any, Protocol

import msgspec
from aiolimiter import AsyncLimiter
from nats.js.errors import BucketNotFoundError, NoKeysError

from soleflip.common.bus.names import Names
from soleflip.common.stockx._errors import StockXBudgetExhausted, StockXBudgetTimeout
from soleflip.common.stockx._kv import BUDGET_BUCKET, CasConflict, CasStore
from soleflip.common.stockx._metrics import BUDGET_REMAINING, BUDGET_SLOWDOWN, BUDGET_WAIT


class Priority(IntEnum):
    """Who is asking; higher values are served first."""

    CATALOG_REFRESH = 0
    MARKET_DATA = 1
    LISTING_SYNC = 2
    ORDER_SYNC = 3
    USER_WRITE = 4


#: A priority's claim horizon grows by 1/_HORIZON_STEPS of a spacing per level (see above).
_HORIZON_STEPS = 4

#: Share of the daily budget a priority may not touch (kept for higher priorities).
RESERVE: dict[Priority, float] = {
    Priority.CATALOG_REFRESH: 0.20,
    Priority.MARKET_DATA: 0.15,
    Priority.LISTING_SYNC: 0.10,
    Priority.ORDER_SYNC: 0.05,
    Priority.USER_WRITE: 0.0,
}


class RequestBudget(Protocol):
    """Grants permission to send one request."""

    async def acquire(self, priority: Priority, max_wait: float) -> None: ...

    async def penalize(self, seconds: float) -> None: ...


#: The slowest the budget gets after 429s: a sixteenth of the configured rate.
MAX_SLOWDOWN = 16.0
#: 429s this close (seconds) to the last doubling belong to the same burst.
REARM_S = 2.0


class BudgetState(msgspec.Struct, kw_only=True):
    """The shared record: next free slot (epoch seconds), UTC day and grants used that day (in
    all and per priority name), and the 429 slow-down (factor on the spacing, held until
    `slow_until`, last doubled at `slowed_at`). Old records without the later fields decode with
    their defaults."""

    next: float = 0.0
    day: str = ""
    used: int = 0
    slow: float = 1.0
    slow_until: float = 0.0
    slowed_at: float = 0.0
    #: Today's grants by `Priority` name (written in the same compare-and-set as `used`).
    by_priority: dict[str, int] = msgspec.field(default_factory=dict)

    def used_on(self, day: str) -> tuple[int, dict[str, int]]:
        """Grants of `day` in all and per priority (none when the record is of another day)."""
        return (self.used, dict(self.by_priority)) if self.day == day else (0, {})


def slowdown(state: BudgetState, now: float, hold_s: float) -> float:
    """The factor in force at `now`: `slow` until `slow_until`, then halved per `hold_s`."""
    if state.slow <= 1.0 or now < state.slow_until:
        return max(1.0, state.slow)
    steps = 1 + int((now - state.slow_until) // hold_s)
    return max(1.0, state.slow / 2.0**steps)


def after_429(state: BudgetState, now: float, pause_s: float, hold_s: float) -> BudgetState:
    """The record after a 429: nobody sends before `now + pause_s`, and the rate is halved."""
    factor = slowdown(state, now, hold_s)
    slowed_at = state.slowed_at
    if now - state.slowed_at >= REARM_S:
        factor, slowed_at = min(MAX_SLOWDOWN, factor * 2.0), now
    return msgspec.structs.replace(
        state,
        next=max(state.next, now + pause_s),
        slow=factor,
        slow_until=now + hold_s,
        slowed_at=slowed_at,
    )


def seconds_to_midnight(now: float) -> float:
    moment = datetime.fromtimestamp(now, UTC)
    midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - moment).total_seconds()


def _utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def budget_key(api_key: str) -> str:
    """One budget per API key, named by a digest so the key itself never sits in NATS."""
    return "key." + hashlib.sha256(api_key.encode()).hexdigest()[:16]


class KvBudget:
    """`RequestBudget` shared through a compare-and-set store (see the module docstring)."""

    def __init__(
        self,
        store: CasStore,
        *,
        key: str,
        rate_per_s: float,
        daily: int,
        safety: float = 0.1,
        slow_hold_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._key = key
        self._daily = daily
        self._spacing = (1.0 + safety) / rate_per_s
        self._slow_hold = slow_hold_s
        self._clock = clock
        self._sleep = sleep
        self._locks = {p: asyncio.Lock() for p in Priority}
        self._limiter = AsyncLimiter(1, 1.0 / rate_per_s)

    async def acquire(self, priority: Priority, max_wait: float) -> None:
        started = time.monotonic()
        deadline = started + max_wait
        try:
            # The bound also covers waiting for the lock behind a same-priority claimer.
            async with asyncio.timeout(max_wait), self._locks[priority]:
                slot = await self._claim(priority, deadline)
        except TimeoutError:
            raise StockXBudgetTimeout(
                f"no StockX request slot for {priority.name} within the call's deadline"
            ) from None
        await self._sleep(max(0.0, slot - self._clock()))
        await asyncio.wait_for(self._limiter.acquire(), self._spacing + 1.0)
        BUDGET_WAIT.labels(priority.name).observe(time.monotonic() - started)

    async def _claim(self, priority: Priority, deadline: float) -> float:
        while True:
            state, revision = await self._read()
            now = self._clock()
            used, by_priority = state.used_on(_utc_day(now))
            self._check_daily(priority, used, now)
            slot = max(now, state.next)
            factor = slowdown(state, now, self._slow_hold)
            spacing = self._spacing * factor
            lead = slot - now - priority * spacing / _HORIZON_STEPS
            if time.monotonic() + max(lead, slot - now) > deadline:
                raise StockXBudgetTimeout(
                    f"no StockX request slot for {priority.name} within the call's deadline",
                    retry_after=max(1.0, slot - now),
                )
            if lead > 0:
                # The 1 ms floor keeps a lead below clock resolution from spinning the loop.
                await self._sleep(max(lead, 0.001))
                continue
            by_priority[priority.name] = by_priority.get(priority.name, 0) + 1
            claimed = msgspec.structs.replace(
                state,
                next=slot + spacing,
                day=_utc_day(now),
                used=used + 1,
                by_priority=by_priority,
            )
            try:
                await self._store.update(self._key, msgspec.json.encode(claimed), last=revision)
            except CasConflict:
                continue
            BUDGET_REMAINING.set(self._daily - claimed.used)
            BUDGET_SLOWDOWN.set(factor)
            return slot

    def _check_daily(self, priority: Priority, used: int, now: float) -> None:
        allowance = int(self._daily * (1.0 - RESERVE[priority]))
        if used >= allowance:
            BUDGET_REMAINING.set(max(0, self._daily - used))
            raise StockXBudgetExhausted(
                f"StockX daily budget for {priority.name} spent ({used}/{allowance})",
                retry_after=seconds_to_midnight(now),
            )

    async def _read(self) -> tuple[BudgetState, int]:
        for _ in range(10):
            found = await self._store.get(self._key)
            if found is not None:
                return msgspec.json.decode(found[0], type=BudgetState), found[1]
            try:
                revision = await self._store.create(self._key, msgspec.json.encode(BudgetState()))
            except CasConflict:
                continue
            return BudgetState(), revision
        raise StockXBudgetTimeout("the StockX budget record keeps changing; giving up")

    async def penalize(self, seconds: float) -> None:
        """After a 429: push the next slot of every process past `seconds` from now and halve
        the shared rate for a while (see the module docstring)."""
        for _ in range(10):
            state, revision = await self._read()
            slowed = after_429(state, self._clock(), seconds, self._slow_hold)
            try:
                await self._store.update(self._key, msgspec.json.encode(slowed), last=revision)
            except CasConflict:
                continue
            BUDGET_SLOWDOWN.set(slowed.slow)
            return


class PriorityUsage(msgspec.Struct, frozen=True):
    """Today's grants of one priority and the most it may use of the day (its reserve kept)."""

    priority: str
    used: int
    allowance: int


class BudgetUsage(msgspec.Struct, frozen=True):
    """Today's grants of one API key's budget: in all, of `daily`, and per priority (highest
    first, every priority listed)."""

    key: str
    used: int
    daily: int
    by_priority: list[PriorityUsage]


def usage_of(key: str, state: BudgetState, *, daily: int, now: float) -> BudgetUsage:
    """What `state` says was granted today (UTC) under `key`."""
    used, counts = state.used_on(_utc_day(now))
    shares = [
        PriorityUsage(p.name, counts.get(p.name, 0), int(daily * (1.0 - RESERVE[p])))
        for p in sorted(Priority, reverse=True)
    ]
    return BudgetUsage(key.removeprefix("key."), used, daily, shares)


async def read_usage(
    js: Any, names: Names, *, daily: int, now: float, limit: int = 10
) -> list[BudgetUsage]:
    """Today's usage of every budget in the shared `stockx_budget` bucket (read only; none
    before the first call of any process)."""
    try:
        kv = await js.key_value(names.bucket(BUDGET_BUCKET))
        keys = await kv.keys()
    except (BucketNotFoundError, NoKeysError):
        return []
    found = []
    for key in sorted(keys)[:limit]:
        entry = await kv.get(key)
        state = msgspec.json.decode(entry.value or b"{}", type=BudgetState)
        found.append(usage_of(key, state, daily=daily, now=now))
    return found


class LocalBudget:
    """A budget for one process only (tools, unit tests): local pacing plus a daily count."""

    def __init__(self, *, rate_per_s: float, daily: int, clock: Callable[[], float] = time.time):
        self._limiter = AsyncLimiter(1, 1.0 / rate_per_s)
        self._daily = daily
        self._clock = clock
        self._day = ""
        self._used = 0

    async def acquire(self, priority: Priority, max_wait: float) -> None:
        now = self._clock()
        if self._day != _utc_day(now):
            self._day, self._used = _utc_day(now), 0
        if self._used >= int(self._daily * (1.0 - RESERVE[priority])):
            raise StockXBudgetExhausted(
                f"StockX daily budget for {priority.name} spent",
                retry_after=seconds_to_midnight(now),
            )
        self._used += 1
        BUDGET_REMAINING.set(self._daily - self._used)
        started = time.monotonic()
        try:
            await asyncio.wait_for(self._limiter.acquire(), max_wait)
        except TimeoutError:
            raise StockXBudgetTimeout("no local StockX request slot before the deadline") from None
        BUDGET_WAIT.labels(priority.name).observe(time.monotonic() - started)

    async def penalize(self, seconds: float) -> None:
        """Nothing to share in one process: the caller's own 429 backoff already waits."""
