"""Evaluating one listing: its rule, floor, recommended price, payout, profit and next action."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import msgspec

from soleflip.pricing.domain._fees import FeeTerms
from soleflip.pricing.domain._rules import (
    Market,
    Rule,
    Scope,
    Strategy,
    decide_price,
    reprice_hold,
    select_rule,
)


class Status(StrEnum):
    """What became of a recommendation."""

    RECOMMENDED = "recommended"  # auto-reprice is off for this listing
    REQUESTED = "requested"  # a reprice was requested from orders
    DRY_RUN = "dry_run"  # a reprice would have been requested
    HELD = "held"  # threshold, cool-down, pending request or a halt keeps the price
    NONE = "none"  # no rule, no market input or no valid price


class AutoReprice(msgspec.Struct, frozen=True, kw_only=True):
    """The global switch (`PUT /api/v1/autoreprice`); each rule must also opt in."""

    enabled: bool = False
    dry_run: bool = False


# Per-listing structs hold only scalars and scalar-only structs, so they can never be part of a
# reference cycle: untracked by the garbage collector (a full re-evaluation makes tens of
# thousands, and every collection walked them).


class ListingState(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What pricing knows of one active listing (mirrored from orders events)."""

    listing_id: str
    variant_id: str
    currency: str
    amount: Decimal | None
    scope: Scope = Scope()
    cost: Decimal | None = None
    last_reprice_at: datetime | None = None
    pending_amount: Decimal | None = None
    halted_reason: str | None = None


class Evaluation(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The outcome for one listing; `price` None means nothing is recommended."""

    listing_id: str
    variant_id: str
    currency: str
    current: Decimal | None
    rule_id: str | None
    strategy: Strategy | None
    price: Decimal | None
    floor: Decimal | None
    payout: Decimal | None
    profit: Decimal | None
    status: Status
    reason: str
    #: The figures the decision read (market and landed cost), kept with the recommendation.
    market: Market = Market()
    cost: Decimal | None = None


def evaluate(
    listing: ListingState,
    rules: Sequence[Rule],
    market: Market,
    terms: FeeTerms,
    auto: AutoReprice,
    now: datetime,
) -> Evaluation:
    """Decide the price of `listing` and whether to reprice it now."""
    rule = select_rule(rules, listing.scope)
    if rule is None:
        return _nothing(listing, None, None, "no rule matches the listing")
    floor = None if listing.cost is None else terms.floor(listing.cost, rule.min_margin_pct)
    decision = decide_price(rule, market, floor)
    if decision.price is None:
        return _nothing(listing, rule, floor, decision.reason)
    payout = terms.payout(decision.price)
    status, reason = _next_step(listing, rule, decision.price, floor, auto, now)
    return Evaluation(
        listing_id=listing.listing_id,
        variant_id=listing.variant_id,
        currency=listing.currency,
        current=listing.amount,
        rule_id=rule.id,
        strategy=rule.strategy,
        price=decision.price,
        floor=floor,
        payout=payout,
        profit=None if listing.cost is None else payout - listing.cost,
        status=status,
        market=market,
        cost=listing.cost,
        reason=decision.reason if reason is None else f"{decision.reason}; {reason}",
    )


def _next_step(
    listing: ListingState,
    rule: Rule,
    price: Decimal,
    floor: Decimal | None,
    auto: AutoReprice,
    now: datetime,
) -> tuple[Status, str | None]:
    if not (auto.enabled and rule.auto_reprice):
        return Status.RECOMMENDED, None
    if floor is None:
        return Status.HELD, "landed cost unknown, so no floor: never auto-repriced"
    if listing.halted_reason is not None:
        return Status.HELD, f"auto-reprice halted: {listing.halted_reason}"
    if listing.pending_amount is not None and listing.pending_amount == price:
        return Status.HELD, "the same reprice is already pending"
    hold = reprice_hold(rule, listing.amount, price, listing.last_reprice_at, now)
    if hold is not None:
        return Status.HELD, hold
    return (Status.DRY_RUN if auto.dry_run or rule.dry_run else Status.REQUESTED), None


def _nothing(
    listing: ListingState, rule: Rule | None, floor: Decimal | None, why: str
) -> Evaluation:
    return Evaluation(
        listing_id=listing.listing_id,
        variant_id=listing.variant_id,
        currency=listing.currency,
        current=listing.amount,
        rule_id=None if rule is None else rule.id,
        strategy=None if rule is None else rule.strategy,
        price=None,
        floor=floor,
        payout=None,
        profit=None,
        status=Status.NONE,
        reason=why,
    )
