"""Integration events published by pricing (ARCHITECTURE.md section 5), subjects `pricing.*`.

Each event is a frozen Struct tagged by the CloudEvents `type` field, so a consumer of
`pricing.>` decodes a whole message with `pricing_event_decoder` and dispatches with `match`.
Variant and product ids are StockX's (`variantId`, `productId`); listing ids are the ids orders
publishes in `orders.listing.upserted`. Amounts are `Money` (Decimal, never float); prices that go
to StockX are whole currency units. New fields always get defaults; tags are never reused.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from soleflip.common.contracts.bounds import (
    CurrencyCode,
    Money,
    NonEmptyStr,
    PositiveMoney,
    RowId,
    amount_problem,
    check_amount,
    check_amounts,
)
from soleflip.common.contracts.envelope import TypedEvent
from soleflip.common.fees import FeeSchedule

#: Figures one recommendation records in `inputs`.
MAX_INPUTS = 16

MARKET_UPDATED = "pricing.market.updated"
RECOMMENDATION_CREATED = "pricing.recommendation.created"
REPRICE_REQUESTED = "pricing.reprice.requested"
FEES_UPDATED = "pricing.fees.updated"


class MarketSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The market of one variant in one currency as pricing last observed it (nulls: no data)."""

    variant_id: NonEmptyStr
    currency: CurrencyCode
    product_id: str | None = None
    lowest_ask: Decimal | None = None
    highest_bid: Decimal | None = None
    sell_faster: Decimal | None = None
    earn_more: Decimal | None = None
    observed_at: datetime

    def __post_init__(self) -> None:
        check_amounts(self, "lowest_ask", "highest_bid", "sell_faster", "earn_more")


class Recommendation(msgspec.Struct, frozen=True, kw_only=True):
    """What a listing should be priced at, with the rule and figures that produced it.

    `price` is never below `floor`; `expected_payout` is computed with the fee schedule in force
    (an estimate until the order's payout breakdown arrives); `expected_profit` is None when the
    landed cost is unknown. `status`: `recommended` (no action), `requested` (a reprice was
    requested), `dry_run` (a reprice would have been requested), `held` (threshold or cool-down).
    """

    recommendation_id: NonEmptyStr
    listing_id: NonEmptyStr
    variant_id: NonEmptyStr
    rule_id: str | None = None
    strategy: NonEmptyStr
    price: Money
    current: Money | None = None
    floor: Money | None = None
    expected_payout: Money
    expected_profit: Money | None = None
    status: str = "recommended"
    reason: str = ""
    created_at: datetime
    #: What the decision read: `lowest_ask`, `highest_bid`, `sell_faster`, `earn_more`, `cost`.
    inputs: Annotated[dict[str, Decimal | None], msgspec.Meta(max_length=MAX_INPUTS)] = (
        msgspec.field(default_factory=dict)
    )

    def __post_init__(self) -> None:
        for name, value in self.inputs.items():
            # The field's name is spelled only for a refusal: every recommendation checks these.
            if value is not None and amount_problem(value) is not None:
                check_amount(value, f"inputs.{name}")


class RepriceRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A command for orders: set the listing's ask at StockX to `amount` (whole units).

    Orders applies it (batch update where possible) and answers with `orders.listing.upserted`;
    a request whose `previous` no longer matches the listing's current amount may be dropped as
    stale. Dry-run repricing never produces this event.
    """

    request_id: NonEmptyStr
    listing_id: NonEmptyStr
    variant_id: NonEmptyStr
    amount: PositiveMoney
    previous: Money | None = None
    floor: Money | None = None
    rule_id: str | None = None
    recommendation_id: str | None = None
    reason: str = ""


class PublishedFeeSchedule(msgspec.Struct, frozen=True, kw_only=True):
    """One fee schedule pricing stored, with its id there (a copy is keyed on it: idempotent).

    `schedule` is the whole schedule (`soleflip.common.fees.FeeSchedule`, bounded figures), in
    force from its `effective_from` until a later one; without any schedule the code's default
    (DOMAIN.md level 1) applies on both sides.
    """

    schedule_id: RowId
    schedule: FeeSchedule


class _PricingEvent(TypedEvent, frozen=True):
    """The base of every pricing event (envelope fields from `TypedEvent`)."""


class MarketUpdated(_PricingEvent, frozen=True, tag=MARKET_UPDATED):
    """A variant's market really changed (a repeat of the same prices is not published)."""

    data: MarketSnapshot


class RecommendationCreated(_PricingEvent, frozen=True, tag=RECOMMENDATION_CREATED):
    """A new recommendation for an active listing (its market or its rule changed)."""

    data: Recommendation


class RepriceRequested(_PricingEvent, frozen=True, tag=REPRICE_REQUESTED):
    """Auto-reprice asks orders to change a listing's ask at StockX."""

    data: RepriceRequest


class FeesUpdated(_PricingEvent, frozen=True, tag=FEES_UPDATED):
    """The seller's fee schedule changed (`PUT /api/v1/fees`): orders re-estimates unpaid sales."""

    data: PublishedFeeSchedule


PricingEvent = MarketUpdated | RecommendationCreated | RepriceRequested | FeesUpdated

pricing_event_decoder: msgspec.json.Decoder[PricingEvent] = msgspec.json.Decoder(PricingEvent)

__all__ = [
    "FEES_UPDATED",
    "MARKET_UPDATED",
    "RECOMMENDATION_CREATED",
    "REPRICE_REQUESTED",
    "FeeSchedule",
    "FeesUpdated",
    "MarketSnapshot",
    "MarketUpdated",
    "Money",
    "PositiveMoney",
    "PricingEvent",
    "PublishedFeeSchedule",
    "Recommendation",
    "RecommendationCreated",
    "RepriceRequest",
    "RepriceRequested",
    "pricing_event_decoder",
]
