"""Re-evaluating active listings: recommendations, and reprice requests when auto-reprice is on.

One batch at a time: the context (rules, fee schedule, switch) is loaded once, each listing is
evaluated in the domain, and only recommendations whose price or status changed are stored and
published, so repeated triggers do not flood the log or the bus.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from soleflip.common.contracts import CloudEvent, uuid7
from soleflip.common.contracts.pricing import (
    RECOMMENDATION_CREATED,
    REPRICE_REQUESTED,
    Money,
    PositiveMoney,
    Recommendation,
    RepriceRequest,
)
from soleflip.common.db import Conn, enqueue_fresh
from soleflip.common.errors import InvalidInput
from soleflip.common.observability import get_logger
from soleflip.pricing import queries, repository
from soleflip.pricing.domain import (
    CENT,
    AutoReprice,
    Evaluation,
    FeeSchedule,
    FeeTerms,
    ListingState,
    Market,
    Rule,
    Scope,
    Status,
    evaluate,
    schedule_at,
)
from soleflip.pricing.metrics import REPRICES
from soleflip.pricing.queries import (
    ListingContext,
    load_autoreprice,
    load_fee_schedules,
    load_rules,
)

SOURCE = "soleflip.pricing"
log = get_logger(__name__)


class Context:
    """Everything a batch of evaluations shares, loaded once per batch."""

    def __init__(self, rules: list[Rule], schedule: FeeSchedule, auto: AutoReprice) -> None:
        self.rules, self.schedule, self.auto = rules, schedule, auto
        self._terms: dict[str, FeeTerms | InvalidInput] = {}

    @classmethod
    async def load(cls, conn: Conn, now: datetime) -> Context:
        schedule = schedule_at(await load_fee_schedules(conn), now)
        return cls(await load_rules(conn), schedule, await load_autoreprice(conn))

    def terms(self, currency: str) -> FeeTerms | InvalidInput:
        if currency not in self._terms:
            try:
                self._terms[currency] = self.schedule.terms(currency)
            except InvalidInput as exc:
                self._terms[currency] = exc
        return self._terms[currency]


def listing_state(row: ListingContext) -> ListingState:
    """The domain view of one context row; a cost in another currency is not a cost we know."""
    same_currency = row.cost_currency == row.currency
    cost_item = row.cost_item
    return ListingState(
        listing_id=row.listing_id,
        variant_id=row.variant_id,
        currency=row.currency,
        amount=row.amount,
        scope=Scope(
            brand=row.brand,
            style_id=row.style_id,
            stock_item_id=None if cost_item is None else str(cost_item),
        ),
        cost=row.cost if same_currency else None,
        last_reprice_at=row.last_reprice_at,
        pending_amount=row.pending_amount,
        halted_reason=row.halted_reason,
    )


def market_of(row: ListingContext) -> Market:
    return Market(
        lowest_ask=row.lowest_ask,
        highest_bid=row.highest_bid,
        sell_faster=row.sell_faster,
        earn_more=row.earn_more,
    )


def evaluate_rows(
    rows: Sequence[ListingContext], context: Context, now: datetime
) -> list[Evaluation]:
    """Evaluate context rows (pure: no I/O), for the handlers and the benchmark."""
    results = []
    for row in rows:
        terms = context.terms(row.currency)
        if isinstance(terms, InvalidInput):
            continue  # unconfigured currency: nothing trustworthy to say
        listing = listing_state(row)
        results.append(evaluate(listing, context.rules, market_of(row), terms, context.auto, now))
    return results


async def reevaluate(
    *,
    conn: Conn,
    now: datetime,
    variants: Sequence[str] | None = None,
    listings: Sequence[str] | None = None,
    cause: CloudEvent | None = None,
) -> list[Evaluation]:
    """Evaluate the active listings of `variants` / `listings` (None: all) and record outcomes."""
    context = await Context.load(conn, now)
    rows = await queries.evaluation_context(conn, variants, listings)
    results = evaluate_rows(rows, context, now)
    by_id = {row.listing_id: row for row in rows}
    fresh = [r for r in results if r.price is not None and _changed(by_id[r.listing_id], r)]
    await record_outcomes(conn, fresh, now, cause)
    return results


def _changed(row: ListingContext, result: Evaluation) -> bool:
    """Whether a result differs from the listing's last recommendation (price or status)."""
    return row.rec_price != result.price or row.rec_status != result.status


async def record_outcomes(
    conn: Conn, results: Sequence[Evaluation], now: datetime, cause: CloudEvent | None
) -> None:
    """Store recommendations, book requested reprices, and publish both through the outbox.

    The recommendation's id is its event's id and a command's request id is its event's id:
    one UUIDv7 each, and a reader can match a row to the event that announced it.
    """
    outcomes = [(r.listing_id, r.price, str(r.status)) for r in results if r.price is not None]
    unbooked = await repository.mark_recommended(
        conn, outcomes, now, requested=Status.REQUESTED, held=Status.HELD
    )
    rows, events, requested = [], [], []
    for result in results:
        if result.status is Status.REQUESTED and result.listing_id in unbooked:
            result = _already_pending(result)  # a concurrent evaluation booked it first
        rec_id = uuid7()
        inputs = _inputs(result)
        rows.append(_row(rec_id, result, now, inputs))
        rec = _rec(rec_id, result, now, inputs)
        events.append(
            (RECOMMENDATION_CREATED, _event(rec_id, RECOMMENDATION_CREATED, rec, now, cause))
        )
        if result.status is Status.REQUESTED:
            assert result.price is not None
            requested.append((result.listing_id, result.price))
            command_id = uuid7()
            command = _command(command_id, rec, result)
            events.append(
                (REPRICE_REQUESTED, _event(command_id, REPRICE_REQUESTED, command, now, cause))
            )
    await repository.insert_recommendations(conn, rows)
    await enqueue_fresh(conn, events)  # ids made above: no conflict to skip
    _count(results, requested)


def _already_pending(result: Evaluation) -> Evaluation:
    reason = f"{result.reason}; the same reprice is already pending"
    return msgspec.structs.replace(result, status=Status.HELD, reason=reason)


def _count(results: Sequence[Evaluation], requested: Sequence[tuple[str, Decimal]]) -> None:
    """One metric update and one log line per batch: a full re-evaluation has thousands."""
    dry_runs = sum(1 for r in results if r.status is Status.DRY_RUN)
    REPRICES.labels("requested").inc(len(requested))
    REPRICES.labels("dry_run").inc(dry_runs)
    if requested:
        sample = [(listing_id, str(amount)) for listing_id, amount in requested[:5]]
        log.info("pricing.reprices_requested", count=len(requested), sample=sample)


def _money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else _money_of(str(amount), currency)


@functools.lru_cache(maxsize=4096)
def _money_of(amount: str, currency: str) -> Money:
    """Money of an amount (by its text) in cents, cached: a batch repeats prices, floors and
    payouts, and each `Money` checks its amount. Keyed by text, which is cheaper to hash than
    a Decimal and keeps apart what prints apart (-0 and 0), the quantize runs once per text."""
    return Money(amount=Decimal(amount).quantize(CENT), currency=currency)


@functools.lru_cache(maxsize=4096)
def _whole(amount: str, currency: str) -> PositiveMoney:
    """A reprice's amount in whole units (cached by its text, for the same reason)."""
    return PositiveMoney(amount=Decimal(amount), currency=currency)


def _row(
    rec_id: str, r: Evaluation, now: datetime, inputs: dict[str, Decimal | None]
) -> tuple[Any, ...]:
    return (
        rec_id, r.listing_id, r.variant_id, _uuid_or_none(r.rule_id), str(r.strategy),
        r.currency, r.price, r.current, r.floor, r.payout, r.profit, str(r.status), r.reason, now,
        inputs,
    )  # fmt: skip


def _inputs(r: Evaluation) -> dict[str, Decimal | None]:
    m = r.market
    return {"lowest_ask": m.lowest_ask, "highest_bid": m.highest_bid,
            "sell_faster": m.sell_faster, "earn_more": m.earn_more, "cost": r.cost}  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    """A rule id as the column's UUID (cached: a batch has few rules and many rows)."""
    try:
        return None if value is None else uuid.UUID(value)
    except ValueError:
        return None


def _rec(
    rec_id: str, r: Evaluation, now: datetime, inputs: dict[str, Decimal | None]
) -> Recommendation:
    price, payout = _money(r.price, r.currency), _money(r.payout, r.currency)
    assert price is not None
    assert payout is not None
    return Recommendation(
        recommendation_id=rec_id,
        listing_id=r.listing_id,
        variant_id=r.variant_id,
        rule_id=r.rule_id,
        strategy=str(r.strategy),
        price=price,
        current=_money(r.current, r.currency),
        floor=_money(r.floor, r.currency),
        expected_payout=payout,
        expected_profit=_money(r.profit, r.currency),
        status=str(r.status),
        reason=r.reason,
        created_at=now,
        inputs=inputs,
    )


def _command(command_id: str, rec: Recommendation, r: Evaluation) -> RepriceRequest:
    assert r.price is not None
    return RepriceRequest(
        request_id=command_id,
        listing_id=r.listing_id,
        variant_id=r.variant_id,
        # Whole units, as StockX takes them.
        amount=_whole(str(r.price), r.currency),
        previous=rec.current,
        floor=rec.floor,
        rule_id=r.rule_id,
        recommendation_id=rec.recommendation_id,
        reason=r.reason,
    )


def _event(
    event_id: str, type_: str, data: Any, now: datetime, cause: CloudEvent | None
) -> CloudEvent:
    subject = data.listing_id
    return CloudEvent(
        id=event_id,
        source=SOURCE,
        type=type_,
        subject=subject,
        time=now,
        data=data,
        correlationid=(cause.correlationid or cause.id) if cause else event_id,
        causationid=cause.id if cause else None,
    )
