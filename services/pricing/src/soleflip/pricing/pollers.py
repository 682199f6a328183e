"""The market poller: per-product market data (all variants in one call) on refresh tiers that fit
pricing's share of the daily StockX budget.

Tiers: a product with an active listing is `listed` (refreshed most often), one with unsold stock
`stocked`, any other product pricing has seen `tracked` (rarely). With n_t products in tier t and
relative weights w_t, tier t is refreshed every `base * w_t` seconds, and
`base = max(min_interval, 86400 * sum(n_t / w_t) / (calls_per_day - sum(n_t)))`, so the calls
of any UTC day stay within the share (one poll of headroom per product for the day's edges). A
product first seen gets a stable phase within its interval, so polls spread over the day instead
of bursting at start-up; a late tick does not shift the cadence. Results go through the same
handler as webhooks (`record_market`).

The plan holds per day; the share also holds at the rate level. A token bucket at the share's
rate (one minute of it as burst) gates every call, so a backlog (a tier change, listings
arriving right after start-up) drains at the share's pace instead of at the key's 1 request/s.
When a product's interval shrinks and it is already overdue, its next poll is spread over the
new interval by its phase rather than made due at once with every other such product.

One product StockX fails on (404, 5xx, an undecodable body) never stops a tick: the failure is
counted in `market_poll_failure` (metric, log), the others are polled, and the product is not
asked again after `MAX_POLL_FAILURES` in a row. StockX as a whole being unavailable (circuit
open, transport, rate limit, budget) ends the tick without counting anything against products
or moving their cadence; `run` backs off and the due products are polled once StockX is back.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import InvalidOperation

import msgspec

from soleflip.common.db import UnitOfWork, prune_inbox, prune_outbox
from soleflip.common.observability import get_logger
from soleflip.common.polls import PollLog
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.stockx import (
    Priority,
    StockXBudgetExhausted,
    StockXClient,
    StockXError,
    is_item_failure,
)
from soleflip.pricing import handlers, queries, repository
from soleflip.pricing.metrics import MARKET_POLLS
from soleflip.pricing.service import PricingService

log = get_logger(__name__)
DAY_S = 86_400.0
Sleep = Callable[[float], Awaitable[None]]
#: Polls of one product that may fail in a row before the poller stops asking for it.
MAX_POLL_FAILURES = 5
#: Longest pause of the poller while StockX as a whole is unavailable.
MAX_PAUSE_S = 60.0
TIERS = ("listed", "stocked", "tracked")  # tier 2, 1, 0 of queries.tracked_products


def refresh_intervals(
    counts: Mapping[str, int],
    calls_per_day: float,
    weights: Mapping[str, float],
    min_interval_s: float,
) -> dict[str, float]:
    """Seconds between polls of one product, per tier, within `calls_per_day` (module docstring)."""
    load = sum(n / weights[tier] for tier, n in counts.items())
    # A UTC day can hold one poll more per product than the average rate (phases at both ends):
    # keep that headroom out of the plan so no single day goes over the share.
    spendable = calls_per_day - sum(counts.values())
    base = max(min_interval_s, DAY_S * load / spendable if spendable > 0 else DAY_S)
    return {tier: base * weights[tier] for tier in TIERS}


def planned_calls_per_day(counts: Mapping[str, int], intervals: Mapping[str, float]) -> float:
    return sum(n * DAY_S / intervals[tier] for tier, n in counts.items())


def phase(product_id: str) -> float:
    """A stable fraction in [0, 1) per product, to spread first polls over the interval."""
    digest = hashlib.sha256(product_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


#: The bucket: one minute of the share as burst, refilled at 5 % above the share (the plan is
#: below it, and the margin lets a queue drain). Any 10 minutes then hold at most
#: 60 s + 600 s x 1.05 = 1.15 x the share's 10 minutes.
SHARE_BURST_S = 60.0
SHARE_RATE_HEADROOM = 1.05


class ShareBucket:
    """A token bucket at `rate_per_s` on the poller's clock; a call may borrow the tokens of the
    other currencies of its product (the debt is paid back before the next call)."""

    def __init__(self, rate_per_s: float, burst_s: float = SHARE_BURST_S) -> None:
        self.rate = rate_per_s
        self.capacity = max(1.0, rate_per_s * burst_s)
        self.tokens = self.capacity
        self._at: float | None = None

    def take(self, calls: int, now: float) -> bool:
        """Spend `calls` tokens if at least one is there; False (nothing spent) otherwise."""
        if self._at is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.rate)
        self._at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= calls
        return True


@dataclass
class TickReport:
    """What one tick did (for tests and logs)."""

    due: int = 0
    calls: int = 0
    failures: int = 0


class MarketPoller:
    """Polls due products, one call per product and currency, at MARKET_DATA priority."""

    def __init__(
        self,
        service: PricingService,
        *,
        stockx: Callable[[], StockXClient] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        record: PollLog | None = None,
    ) -> None:
        runtime, settings = service.runtime, service.options
        self.runtime, self.settings, self._sleep = runtime, settings, sleep
        self.record = record
        self.clock = service.clock
        self._stockx = stockx or (lambda: runtime.stockx)
        weights = settings.tier_weights
        self.weights = dict(zip(TIERS, weights, strict=True))
        self.calls_per_day = runtime.settings.stockx_daily_budget * settings.market_budget_share
        self.bucket = ShareBucket(self.calls_per_day / DAY_S * SHARE_RATE_HEADROOM)
        self.last_polled: dict[str, float] = {}
        self.intervals: dict[str, float] = {}
        self._interval_of: dict[str, float] = {}  # the interval each product was last due by

    async def run(self) -> None:
        pauses, tick_s = 0, self.settings.poll_tick_s
        while True:
            await self._record_start()
            try:
                await self.tick()
                pauses = 0
                await self._record_end("ok", tick_s)
            except StockXBudgetExhausted as exc:
                log.warning("pricing.poll_budget_exhausted", error=str(exc))
                pause = min(exc.retry_after or 600.0, 3600.0)
                await self._record_end("paused", pause + tick_s, exc)
                await self._sleep(pause)
            except StockXError as exc:  # StockX unavailable: nothing was counted against products
                pauses += 1
                pause = min(MAX_PAUSE_S, exc.retry_after or 2.0**pauses)
                log.warning("pricing.poll_paused", error=str(exc), pause_s=pause)
                await self._record_end("paused", pause + tick_s, exc)
                await self._sleep(pause)
            await self._sleep(tick_s)

    async def _record_start(self) -> None:
        if self.record is not None:
            await self.record.started()

    async def _record_end(
        self, outcome: str, next_in_s: float, exc: Exception | None = None
    ) -> None:
        if self.record is not None:
            await self.record.finished(
                outcome, next_in_s=next_in_s, error=str(exc) if exc else None
            )

    async def plan(self) -> tuple[list[tuple[str, str]], list[str]]:
        """Products with their tier, and the currencies to poll."""
        async with self.runtime.pool.acquire() as conn:
            tracked = await queries.tracked_products(conn, MAX_POLL_FAILURES)
            currencies = await queries.listing_currencies(conn)
        products = [(product_id, TIERS[2 - tier]) for product_id, tier in tracked]
        return products, sorted(currencies) or [self.settings.default_currency]

    def due(
        self, products: list[tuple[str, str]], currencies: int, now: float
    ) -> list[tuple[float, str]]:
        """`(due time, product)` of every product due at `now`, most overdue first."""
        counts = {tier: sum(1 for _, t in products if t == tier) for tier in TIERS}
        self.intervals = refresh_intervals(
            counts, self.calls_per_day / currencies, self.weights, self.settings.min_poll_interval_s
        )
        due = []
        for product_id, tier in products:
            interval = self.intervals[tier]
            last = self._last(product_id, interval, now)
            if now - last >= interval:
                due.append((last + interval, product_id))
        return sorted(due)

    def _last(self, product_id: str, interval: float, now: float) -> float:
        """When the product counts as last polled: a first-seen product, or an overdue one whose
        interval just shrank (tier change), gets a phase within the interval, not "due now"."""
        spread = now - interval * phase(product_id)
        last = self.last_polled.setdefault(product_id, spread)
        before = self._interval_of.get(product_id, interval)
        self._interval_of[product_id] = interval
        if interval < 0.9 * before and now - last >= interval:
            last = self.last_polled[product_id] = max(last, spread)
        return last

    async def tick(self) -> TickReport:
        products, currencies = await self.plan()
        now = self.clock()
        due = self.due(products, len(currencies), now.timestamp())
        report = TickReport(due=len(due))
        tiers = dict(products)
        for due_at, product_id in due:
            if not self.bucket.take(len(currencies), self.clock().timestamp()):
                break  # the rest stays due; the share refills at its own pace
            for currency in currencies:
                report.calls += 1
                ok = await self._poll(product_id, currency, tiers[product_id])
                report.failures += not ok
            self.polled(product_id, tiers[product_id], due_at, now.timestamp())
        return report

    def polled(self, product_id: str, tier: str, due_at: float, now: float) -> None:
        """Keep the cadence (a tick's lateness does not add up), unless a whole interval was
        missed (an outage): then start afresh rather than catch up in a burst."""
        late = now - due_at
        self.last_polled[product_id] = due_at if late < self.intervals[tier] else now

    async def poll_product(self, product_id: str, currency: str, tier: str) -> bool:
        """One per-product market-data call, recorded like a webhook; False when it failed."""
        return await self._poll(product_id, currency, tier)

    async def _poll(self, product_id: str, currency: str, tier: str) -> bool:
        try:
            data = await self._stockx().get_product_market_data(
                product_id, currency_code=currency, priority=Priority.MARKET_DATA
            )
        except StockXError as exc:
            if not is_item_failure(exc):
                raise  # StockX as a whole: the tick stops, `run` waits
            return await self._failed(product_id, tier, exc)
        now = self.clock()
        try:
            observed = [handlers.from_poll(item, currency, now) for item in data]
        except (msgspec.ValidationError, ValueError, InvalidOperation) as exc:
            return await self._failed(product_id, tier, exc)
        MARKET_POLLS.labels(tier, "ok").inc()
        async with UnitOfWork(self.runtime.pool) as uow:
            await handlers.record_market(observed, conn=uow.conn, source="poll", now=now)
            await repository.clear_poll_failure(uow.conn, product_id)
            await uow.commit()
        return True

    async def _failed(self, product_id: str, tier: str, exc: Exception) -> bool:
        """Count a poll that failed on this product (False: the call did not go through)."""
        async with self.runtime.pool.acquire() as conn:
            failures = await repository.record_poll_failure(
                conn, product_id, repr(exc), self.clock()
            )
        outcome = "gave_up" if failures >= MAX_POLL_FAILURES else "error"
        MARKET_POLLS.labels(tier, outcome).inc()
        log.warning("pricing.poll_failed", product_id=product_id, failures=failures, error=str(exc))
        return False


class Reevaluator:
    """Now and then: halts reprices nobody confirmed, and re-evaluates every active listing, so
    expired cool-downs take effect even when the market is quiet."""

    def __init__(
        self,
        service: PricingService,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.runtime, self.interval, self.clock, self._sleep = (
            service.runtime, service.options.reevaluate_interval_s, service.clock, sleep,
        )  # fmt: skip
        self.reject_after = timedelta(seconds=service.options.reject_after_s)

    async def run(self) -> None:
        while True:
            await self._sleep(self.interval)
            await self.sweep()

    async def sweep(self) -> None:
        now = self.clock()
        async with UnitOfWork(self.runtime.pool) as uow:
            await handlers.expire_pending(conn=uow.conn, now=now, reject_after=self.reject_after)
            await handlers.reevaluate(conn=uow.conn, now=now)
            await uow.commit()


#: Inbox claims outlive any redelivery (max_deliver x longest NAK delay) by far; published outbox
#: rows are only kept for inspection.
INBOX_RETENTION = timedelta(days=14)
OUTBOX_RETENTION = timedelta(days=2)


async def housekeeping(
    runtime: ServiceRuntime, *, every_s: float = 3600.0, sleep: Sleep = asyncio.sleep
) -> None:
    """Prune old inbox claims and published outbox rows, hourly."""
    while True:
        await sleep(every_s)
        inbox = await prune_inbox(runtime.pool, INBOX_RETENTION)
        outbox = await prune_outbox(runtime.pool, OUTBOX_RETENTION)
        log.info("pricing.housekeeping", inbox_pruned=inbox, outbox_pruned=outbox)
