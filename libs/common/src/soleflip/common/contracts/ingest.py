"""Events accepted at ingest (ARCHITECTURE.md section 5) and the typed data each type carries.

Each accepted type is a frozen Struct tagged by the CloudEvents `type` field, so a consumer of
`ingest.>` decodes a whole message with `ingest_event_decoder` and dispatches with `match`. Data
structs require only what every sender provides and ignore unknown fields: StockX resources
grow, and a relay may forward more than we read. New fields always get defaults.

`DATA_TYPES` maps each accepted type to its data struct; ingest validates `data` with it before
publishing, and an event whose type is not in it goes to `ingest.unrecognized.<source>`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from soleflip.common.contracts.bounds import (
    AmountText,
    CurrencyCode,
    Money,
    NonEmptyStr,
    NonNegativeMoney,
    Quantity,
    check_amount,
    check_amounts,
    check_ratio,
)
from soleflip.common.contracts.envelope import TypedEvent
from soleflip.common.fx import check_rate

#: Variants in one `stockx.market.updated`, SKUs in one `catalog.enrichment.requested`.
MAX_MARKET_ITEMS = 1_000
MAX_SKUS = 5_000


class StockxAdjustment(msgspec.Struct, frozen=True, kw_only=True):
    """One payout adjustment (`amount` negative for deductions, `percentage` e.g. 0.1)."""

    amount: Decimal | None = None
    percentage: Decimal | None = None

    def __post_init__(self) -> None:
        check_amount(self.amount, "amount")
        check_ratio(self.percentage, "percentage")


class StockxPayout(msgspec.Struct, frozen=True, kw_only=True):
    """What StockX pays for a sale; amounts are strings or numbers, as StockX sends them."""

    totalPayout: Decimal | None = None
    salePrice: Decimal | None = None
    totalAdjustments: Decimal | None = None
    currencyCode: str | None = None
    adjustments: Annotated[list[StockxAdjustment], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=list
    )

    def __post_init__(self) -> None:
        check_amounts(self, "totalPayout", "salePrice", "totalAdjustments")


class StockxOrder(msgspec.Struct, frozen=True, kw_only=True):
    """A StockX order resource (list-item or detailed shape); unread fields are kept upstream."""

    orderNumber: NonEmptyStr  # StockX spells its fields in camelCase
    status: NonEmptyStr
    listingId: str | None = None
    amount: AmountText | None = None
    currencyCode: str | None = None
    createdAt: datetime | None = None
    updatedAt: datetime | None = None
    payout: StockxPayout | None = None


class StockxListing(msgspec.Struct, frozen=True, kw_only=True):
    """A StockX listing resource."""

    listingId: NonEmptyStr
    status: NonEmptyStr
    amount: AmountText | None = None
    currencyCode: str | None = None
    updatedAt: datetime | None = None


class StockxProductAttributes(msgspec.Struct, frozen=True, kw_only=True):
    """The product attributes the catalog stores numbers of."""

    retailPrice: Decimal | None = None

    def __post_init__(self) -> None:
        check_amount(self.retailPrice, "retailPrice")


class StockxProduct(msgspec.Struct, frozen=True, kw_only=True):
    """A StockX product resource, with its variants when the sender knows them."""

    productId: NonEmptyStr
    styleId: str | None = None
    title: str | None = None
    brand: str | None = None
    productAttributes: StockxProductAttributes | None = None
    variants: list[dict[str, Any]] | None = None


class VariantMarketData(msgspec.Struct, frozen=True, kw_only=True):
    """StockX market data of one variant (amounts are nullable strings, as StockX sends them)."""

    variantId: NonEmptyStr
    productId: str | None = None
    currencyCode: str | None = None
    lowestAskAmount: AmountText | None = None
    highestBidAmount: AmountText | None = None
    sellFasterAmount: AmountText | None = None
    earnMoreAmount: AmountText | None = None


#: `stockx.market.updated` carries one variant's market data or a non-empty list of them.
MarketData = (
    VariantMarketData
    | Annotated[list[VariantMarketData], msgspec.Meta(min_length=1, max_length=MAX_MARKET_ITEMS)]
)


#: The largest cost part of one unit (a pair worth more is a typo, not stock).
MAX_UNIT_COST = Decimal("1000000")


def _cost_part(name: str, value: Money | None, currency: str) -> None:
    """A cost part is in the purchase's currency, from 0 to `MAX_UNIT_COST`, in cents."""
    if value is None:
        return
    amount = value.amount
    if not amount.is_finite() or not 0 <= amount <= MAX_UNIT_COST or amount != round(amount, 2):
        raise ValueError(f"{name} must be from 0 to {MAX_UNIT_COST} with at most two decimals")
    if value.currency != currency:
        raise ValueError(f"{name} must be in the unit cost's currency ({currency})")


class ItemPurchase(msgspec.Struct, frozen=True, kw_only=True):
    """A purchase the seller logged (usually from an n8n purchase-log workflow).

    `unit_cost` is the price paid per unit, VAT included; the other cost parts are per unit in
    the same currency, optional (0). Without `vat_amount`, the VAT contained in the price is
    derived from `vat_rate_pct` (19 -> price x 19 / 119).
    """

    sku: NonEmptyStr
    size: NonEmptyStr
    size_type: NonEmptyStr
    quantity: Quantity
    unit_cost: NonNegativeMoney
    purchased_at: datetime
    supplier: NonEmptyStr
    external_id: NonEmptyStr
    #: False: bought but not received yet (the units start ORDERED instead of IN_STOCK).
    received: bool = True
    vat_amount: NonNegativeMoney | None = None
    #: The VAT rate in percent, 0 to 100.
    vat_rate_pct: Decimal | None = None
    inbound_shipping: NonNegativeMoney | None = None
    other_costs: NonNegativeMoney | None = None

    def __post_init__(self) -> None:
        currency = self.unit_cost.currency
        for name in ("unit_cost", "vat_amount", "inbound_shipping", "other_costs"):
            _cost_part(name, getattr(self, name), currency)
        rate = self.vat_rate_pct
        if rate is not None and (not rate.is_finite() or not 0 <= rate <= 100):
            raise ValueError("vat_rate_pct must be a percentage from 0 to 100")
        if self.vat_amount is not None and self.vat_amount.amount > self.unit_cost.amount:
            raise ValueError("vat_amount cannot exceed unit_cost (the price includes its VAT)")


class EnrichmentRequest(msgspec.Struct, frozen=True, kw_only=True):
    """SKUs whose catalog data should be (re)fetched from StockX."""

    skus: Annotated[list[NonEmptyStr], msgspec.Meta(min_length=1, max_length=MAX_SKUS)]


#: Most currencies in one day's rate table (the ECB quotes about 30).
MAX_FX_CURRENCIES = 200


class FxRates(msgspec.Struct, frozen=True, kw_only=True):
    """One day's FX reference rates: units of each currency per 1 `base` (EUR, as the ECB quotes).

    `rates` holds 1 to 200 ISO 4217 codes (not EUR), each from 0.000001 to 1,000,000; `date`
    from 1999-01-01 (the euro's first day) to 2099-12-31; `source` names the publisher (default
    `ECB`). Orders stores them with their date and source and converts profit with them.
    """

    date: date
    base: Annotated[str, msgspec.Meta(pattern=r"^EUR$")] = "EUR"
    rates: Annotated[
        dict[CurrencyCode, Decimal], msgspec.Meta(min_length=1, max_length=MAX_FX_CURRENCIES)
    ]
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "ECB"

    def __post_init__(self) -> None:
        for currency, rate in self.rates.items():
            check_rate(currency, self.date, rate)
        if "\x00" in self.source:
            raise ValueError("source must not contain NUL")


class _IngestEvent(TypedEvent, frozen=True):
    """The base of every accepted event (envelope fields from `TypedEvent`)."""


class StockxOrderUpdated(_IngestEvent, frozen=True, tag="stockx.order.updated"):
    """A relay saw a StockX order change."""

    data: StockxOrder


class StockxListingUpdated(_IngestEvent, frozen=True, tag="stockx.listing.updated"):
    """A relay saw a StockX listing change."""

    data: StockxListing


class StockxProductUpdated(_IngestEvent, frozen=True, tag="stockx.product.updated"):
    """A relay saw a StockX product change."""

    data: StockxProduct


class StockxMarketUpdated(_IngestEvent, frozen=True, tag="stockx.market.updated"):
    """A price-data relay sent fresh market data for one or more variants."""

    data: MarketData


class InventoryItemPurchased(_IngestEvent, frozen=True, tag="inventory.item.purchased"):
    """The seller bought stock."""

    data: ItemPurchase


class CatalogEnrichmentRequested(_IngestEvent, frozen=True, tag="catalog.enrichment.requested"):
    """Someone asked for catalog data of these SKUs."""

    data: EnrichmentRequest


class FxRatesPublished(_IngestEvent, frozen=True, tag="fx.rates.published"):
    """A day's FX reference rates (an n8n workflow that fetches the ECB's daily file)."""

    data: FxRates


IngestEvent = (
    StockxOrderUpdated
    | StockxListingUpdated
    | StockxProductUpdated
    | StockxMarketUpdated
    | InventoryItemPurchased
    | CatalogEnrichmentRequested
    | FxRatesPublished
)

#: The type of `data` for each accepted event type.
DATA_TYPES: dict[str, Any] = {
    "stockx.order.updated": StockxOrder,
    "stockx.listing.updated": StockxListing,
    "stockx.product.updated": StockxProduct,
    "stockx.market.updated": MarketData,
    "inventory.item.purchased": ItemPurchase,
    "catalog.enrichment.requested": EnrichmentRequest,
    "fx.rates.published": FxRates,
}

ingest_event_decoder: msgspec.json.Decoder[IngestEvent] = msgspec.json.Decoder(IngestEvent)

__all__ = [
    "DATA_TYPES",
    "MAX_FX_CURRENCIES",
    "MAX_UNIT_COST",
    "CatalogEnrichmentRequested",
    "EnrichmentRequest",
    "FxRates",
    "FxRatesPublished",
    "IngestEvent",
    "InventoryItemPurchased",
    "ItemPurchase",
    "MarketData",
    "Money",
    "NonNegativeMoney",
    "StockxAdjustment",
    "StockxListing",
    "StockxListingUpdated",
    "StockxMarketUpdated",
    "StockxOrder",
    "StockxOrderUpdated",
    "StockxPayout",
    "StockxProduct",
    "StockxProductAttributes",
    "StockxProductUpdated",
    "VariantMarketData",
    "ingest_event_decoder",
]
