"""Orders domain rules: status ranks, the never-backwards rule, fees, payout, profit and the
stock unit lifecycle.

Pure functions on plain values (no I/O). Money is `Decimal`; every fee is rounded to the cent
(half up) before it is subtracted, as docs/domain.md prescribes, so the EUR 102 sale at level 1
pays exactly 79.76.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import msgspec

from soleflip.common.errors import Conflict, InvalidInput
from soleflip.common.fees import FeeSchedule, FeeTerms, schedule_at
from soleflip.common.stockx import HISTORICAL_ORDER_STATUSES, NO_SALE_ORDER_STATUSES

CENT = Decimal("0.01")
#: Far past: a resource without `updatedAt` loses every comparison against one with it.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Order statuses (every one of `soleflip.common.stockx.ORDER_STATUSES`) by lifecycle position:
#: on equal `updatedAt` the later position wins. Unknown statuses rank 0 (kept verbatim, but
#: never win a tie against a known one).
ORDER_RANK: dict[str, int] = {
    "PENDING": 5,
    "CREATED": 10,
    "CCAUTHORIZATIONFAILED": 15,
    "SHIPPED": 20,
    "RECEIVED": 30,
    "AUTHENTICATING": 40,
    "SUSPENDED": 45,
    "AUTHENTICATED": 50,
    "AUTHFAILED": 55,
    "PAYOUTPENDING": 60,
    "PAYOUTFAILED": 65,
    "PAYOUTCOMPLETED": 70,
    "SYSTEMFULFILLED": 75,
    "DONOTSHIP": 85,
    "DIDNOTSHIP": 90,
    "CANCELED": 90,
    "RETURNED": 95,
    "COMPLETED": 100,
}
#: Orders that ended without a sale: their stock unit is back in stock, they earn nothing
#: (StockX's vocabulary: pricing forgets their price by the same set).
NO_SALE_STATUSES = NO_SALE_ORDER_STATUSES
#: Sales that fell through by the seller's fault: they cost the cancellation charge.
SELLER_FAULT_STATUSES = frozenset({"DIDNOTSHIP"})
#: Sales StockX has paid out: the first time an order entered one of these is the payout date
#: (StockX's order detail carries no payout date: `Payout` has amounts only, docs/payouts.md).
PAID_STATUSES = frozenset({"PAYOUTCOMPLETED", "COMPLETED"})
#: Sales past authentication: StockX pays out after it.
AUTHENTICATED_STATUSES = frozenset({"AUTHENTICATED", "PAYOUTPENDING"})
#: Expected payout: this many days after authentication, or after the sale while it is not
#: authenticated yet (assumptions, docs/payouts.md; the received date replaces them).
PAYOUT_AFTER_AUTH_DAYS = 2
PAYOUT_AFTER_SALE_DAYS = 10
#: Statuses after which StockX lists an order under history, not active.
HISTORY_STATUSES = frozenset(HISTORICAL_ORDER_STATUSES)

#: Sales whose pair has left the seller: the linked unit is SHIPPED.
SHIPPED_ORDER_STATUSES = frozenset(
    {
        "SHIPPED",
        "RECEIVED",
        "AUTHENTICATING",
        "SUSPENDED",
        "AUTHENTICATED",
        "PAYOUTPENDING",
        "PAYOUTFAILED",
        "PAYOUTCOMPLETED",
        "SYSTEMFULFILLED",
        "COMPLETED",
    }
)
#: Sales that failed authentication: the pair comes back to the seller (a RETURNED unit).
RETURNED_ORDER_STATUSES = frozenset({"AUTHFAILED", "RETURNED"})

#: ACTIVE and INACTIVE rank alike: either may follow the other, so only `updatedAt` decides.
LISTING_RANK: dict[str, int] = {
    "INACTIVE": 10,
    "ACTIVE": 10,
    "MATCHED": 50,
    "CANCELED": 90,
    "DELETED": 95,
    "COMPLETED": 100,
}
#: Listings no write can change any more (a delete of one is already done).
FINAL_LISTING_STATUSES = frozenset({"MATCHED", "COMPLETED", "DELETED", "CANCELED"})
#: Listings StockX itself will not change any more either (MATCHED still completes or cancels).
TERMINAL_LISTING_STATUSES = frozenset({"COMPLETED", "DELETED", "CANCELED"})


def order_rank(status: str) -> int:
    return ORDER_RANK.get(status, 0)


def listing_rank(status: str) -> int:
    return LISTING_RANK.get(status, 0)


def version(updated_at: datetime | None, rank: int) -> tuple[datetime, int]:
    """The ordering key of a resource snapshot: `updatedAt`, then status rank."""
    return (updated_at or EPOCH, rank)


def newer_chain(
    snapshots: Sequence[tuple[tuple[datetime, int], int]], current: tuple[datetime, int] | None
) -> list[int]:
    """Indices of the snapshots that move a resource strictly forward, in order.

    `snapshots` are `(version, index)` pairs of one resource from one batch, in any order;
    `current` is the stored version. The result applies oldest first, each strictly newer than
    the one before, so a late or duplicated snapshot never moves the resource backwards.
    """
    chain: list[int] = []
    last = current
    for ver, index in sorted(snapshots):
        if last is None or ver > last:
            chain.append(index)
            last = ver
    return chain


def cents(value: Decimal) -> Decimal:
    """Round to the cent, half up (StockX rounds each fee before subtracting it)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class Fees(msgspec.Struct, frozen=True, gc=False):
    """The deductions of one sale and what the seller is paid (a struct: one per order of a
    batch, built faster than a frozen dataclass)."""

    transaction_fee: Decimal
    processing_fee: Decimal
    shipping_fee: Decimal
    payout: Decimal


class FeeBook:
    """Orders' copy of pricing's fee schedules: the one in force at a sale's time decides.

    The schedules and the fee formula are pricing's (`soleflip.common.fees`), so an estimate here
    equals pricing's quote for the same price, currency and time. The book is immutable: the
    schedule in force is found by bisection and each (schedule, currency)'s terms are resolved
    once, not once per order.
    """

    def __init__(self, schedules: Iterable[FeeSchedule] = ()) -> None:
        self._schedules = sorted(schedules, key=lambda s: s.effective_from)
        self._starts = [s.effective_from for s in self._schedules]
        self._terms: dict[tuple[int, str], FeeTerms | None] = {}

    def _index(self, when: datetime) -> int:
        """The position of the schedule in force at `when` (-1: none, the default applies);
        of several starting at the same time the first given wins, as `schedule_at` picks."""
        found = bisect_right(self._starts, when)
        return bisect_left(self._starts, self._starts[found - 1]) if found else -1

    def at(self, when: datetime) -> FeeSchedule:
        index = self._index(when)
        return self._schedules[index] if index >= 0 else schedule_at([], when)

    def terms(self, currency: str, when: datetime) -> FeeTerms | None:
        """The terms of a sale in `currency` at `when`; None when the schedule lacks them."""
        key = (self._index(when), currency)
        try:
            return self._terms[key]
        except KeyError:
            pass
        schedule = self._schedules[key[0]] if key[0] >= 0 else schedule_at([], when)
        try:
            terms: FeeTerms | None = schedule.terms(currency)
        except InvalidInput:
            terms = None
        self._terms[key] = terms
        return terms

    def estimate(self, price: Decimal, currency: str, when: datetime) -> Fees | None:
        """The fees of a sale at `when`; None when the schedule does not cover `currency`."""
        terms = self.terms(currency, when)
        if terms is None:
            return None
        b = terms.breakdown(price)
        return Fees(b.transaction_fee, b.processing_fee, b.shipping, b.payout)

    def cancellation_fee(self, currency: str, when: datetime) -> Decimal | None:
        return self.at(when).cancellation_fee(currency)


def fees_from_payout(
    total_payout: Decimal, adjustments: Iterable[tuple[str | None, Decimal | None]]
) -> Fees:
    """StockX's own breakdown: adjustments are negative deductions, named by kind.

    Kinds we do not recognise (bonuses, cancellation charges) stay inside `payout`, which is
    StockX's total and therefore the truth.
    """
    found = {"transaction": Decimal(0), "proc": Decimal(0), "ship": Decimal(0)}
    for kind, amount in adjustments:
        name = (kind or "").lower()
        if "bonus" in name:
            continue  # quick-ship and successful-ship bonuses raise the payout, not a fee
        for key in found:
            if key in name and amount is not None:
                found[key] += -amount
                break
    return Fees(found["transaction"], found["proc"], found["ship"], total_payout)


#: The largest cost part of one unit accepted (a pair worth more is a typo, not stock).
MAX_COST = Decimal("1000000")


@dataclass(frozen=True, slots=True)
class CostParts:
    """What one unit cost, per part, in one currency (`unit_cost` as paid, VAT included)."""

    unit_cost: Decimal
    vat_amount: Decimal = Decimal(0)
    inbound_cost: Decimal = Decimal(0)
    other_cost: Decimal = Decimal(0)


def vat_included(gross: Decimal, rate_pct: Decimal) -> Decimal:
    """The VAT inside a gross price: 119.00 at 19 % contains 19.00 (rounded to the cent)."""
    return cents(gross * rate_pct / (100 + rate_pct))


def landed_cost(parts: CostParts, *, vat_reclaimable: bool) -> Decimal:
    """What a unit really cost the seller: price paid, less VAT the seller gets back, plus
    inbound shipping and other costs (README "Landed cost" has a worked example)."""
    vat = parts.vat_amount if vat_reclaimable else Decimal(0)
    return parts.unit_cost - vat + parts.inbound_cost + parts.other_cost


#: The states of a stock unit (ORDERED: bought, not received yet).
STOCK_STATES = (
    "ORDERED",
    "IN_STOCK",
    "LISTED",
    "SOLD",
    "SHIPPED",
    "RETURNED",
    "WRITTEN_OFF",
    "KEPT",
)
#: The moves a person may make (PATCH). LISTED and SOLD-by-StockX units follow their listing
#: and order; a listed unit is delisted first (deleting its listing puts it back in stock).
#: SOLD from IN_STOCK is a sale elsewhere; RETURNED is a pair sent back (to the supplier, or
#: by StockX after a failed authentication) until it is restocked or written off.
STOCK_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "ORDERED": ("IN_STOCK", "RETURNED", "WRITTEN_OFF"),
    "IN_STOCK": ("SOLD", "KEPT", "RETURNED", "WRITTEN_OFF"),
    "LISTED": (),
    "SOLD": ("SHIPPED",),
    "SHIPPED": ("RETURNED",),
    "RETURNED": ("IN_STOCK", "KEPT", "WRITTEN_OFF"),
    "WRITTEN_OFF": ("IN_STOCK",),
    "KEPT": ("IN_STOCK",),
}


def check_transition(current: str, wanted: str) -> None:
    """Refuse a move the lifecycle does not allow (409, naming the allowed ones)."""
    if wanted == current:
        return
    allowed = STOCK_TRANSITIONS.get(current, ())
    if wanted not in allowed:
        listed = ", ".join(allowed) or "none (it follows its listing or order)"
        raise Conflict(
            f"a {current} unit cannot become {wanted}; allowed: {listed}",
            errors=[{"field": "status", "message": f"allowed from {current}: {listed}"}],
        )
