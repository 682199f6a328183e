"""Request and response shapes of pricing's REST API (money is `{"amount": "1.00", "currency"}`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from soleflip.common.contracts.bounds import NonNegativeMoney, check_ratio
from soleflip.common.contracts.pricing import Money
from soleflip.pricing.domain import CENT, Quote
from soleflip.pricing.queries import MarketView, RecommendationView, SaleView

CurrencyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]


def money(amount: Decimal, currency: str) -> Money:
    return Money(amount=amount.quantize(CENT), currency=currency)


def maybe_money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else money(amount, currency)


class QuoteRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`POST /api/v1/quote`: the variant, the landed cost and the wanted margin in percent."""

    variant_id: Annotated[str, msgspec.Meta(min_length=1)]
    cost: NonNegativeMoney
    min_margin_pct: Decimal = Decimal("0")

    def __post_init__(self) -> None:
        check_ratio(self.min_margin_pct, "min_margin_pct")


class QuoteLineOut(msgspec.Struct, frozen=True, kw_only=True):
    strategy: str
    price: Money
    payout: Money
    profit: Money


class QuoteOut(msgspec.Struct, frozen=True, kw_only=True):
    """Prices in whole units; `floor` is the lowest whole price covering cost plus margin."""

    floor: Money
    payout_at_floor: Money
    recommendations: list[QuoteLineOut]

    @classmethod
    def of(cls, answer: Quote, currency: str) -> QuoteOut:
        lines = [
            QuoteLineOut(
                strategy=str(line.strategy),
                price=money(line.price, currency),
                payout=money(line.payout, currency),
                profit=money(line.profit, currency),
            )
            for line in answer.lines
        ]
        return cls(
            floor=money(answer.floor, currency),
            payout_at_floor=money(answer.payout_at_floor, currency),
            recommendations=lines,
        )


class MarketOut(msgspec.Struct, frozen=True, kw_only=True):
    """One variant's market in one currency."""

    variant_id: str
    currency: str
    product_id: str | None
    lowest_ask: Money | None
    highest_bid: Money | None
    sell_faster: Money | None
    earn_more: Money | None
    observed_at: datetime

    @classmethod
    def of(cls, row: MarketView) -> MarketOut:
        c = row.currency
        return cls(
            variant_id=row.variant_id,
            currency=c,
            product_id=row.product_id,
            lowest_ask=maybe_money(row.lowest_ask, c),
            highest_bid=maybe_money(row.highest_bid, c),
            sell_faster=maybe_money(row.sell_faster, c),
            earn_more=maybe_money(row.earn_more, c),
            observed_at=row.observed_at,
        )


class SaleOut(msgspec.Struct, frozen=True, kw_only=True):
    order_number: str
    price: Money
    sold_at: datetime

    @classmethod
    def of(cls, row: SaleView) -> SaleOut:
        return cls(
            order_number=row.order_number,
            price=money(row.amount, row.currency),
            sold_at=row.sold_at,
        )


class VariantMarketOut(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /api/v1/market/{variant_id}`: latest per currency, recent changes, recent sales."""

    variant_id: str
    markets: list[MarketOut]
    history: list[MarketOut]
    sales: list[SaleOut]


class MarketPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[MarketOut]
    next_cursor: str | None = None


class RecommendationOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    listing_id: str
    variant_id: str
    rule_id: str | None
    strategy: str
    price: Money
    current: Money | None
    floor: Money | None
    expected_payout: Money
    expected_profit: Money | None
    status: str
    reason: str
    created_at: datetime
    #: The market figures and landed cost the decision read.
    inputs: dict[str, Money | None]

    @classmethod
    def of(cls, row: RecommendationView) -> RecommendationOut:
        c = row.currency
        return cls(
            id=row.id,
            listing_id=row.listing_id,
            variant_id=row.variant_id,
            rule_id=row.rule_id,
            strategy=row.strategy,
            price=money(row.price, c),
            current=maybe_money(row.current, c),
            floor=maybe_money(row.floor, c),
            expected_payout=money(row.payout, c),
            expected_profit=maybe_money(row.profit, c),
            status=row.status,
            reason=row.reason,
            created_at=row.created_at,
            inputs={
                k: maybe_money(None if v is None else Decimal(v), c)
                for k, v in (row.inputs or {}).items()
            },
        )


class RecommendationPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[RecommendationOut]
    next_cursor: str | None = None


class AutoRepriceBody(msgspec.Struct, frozen=True, kw_only=True):
    """`PUT /api/v1/autoreprice`: the global switch; each rule must opt in as well."""

    enabled: bool
    dry_run: bool = False
