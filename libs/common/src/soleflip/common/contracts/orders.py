"""Integration events the orders service publishes (ARCHITECTURE.md section 5), for its readers.

Each event is a frozen Struct tagged by the CloudEvents `type`, carrying the whole current row
(a snapshot, not a diff), so a reader can keep a denormalized copy from the latest event alone.
Money is a `Money` (amount as a Decimal string on the wire), timestamps are UTC. New fields get
defaults; tags are never reused. Decode a whole envelope with `orders_event_decoder`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from soleflip.common.contracts.bounds import Money, RowId, check_ratio
from soleflip.common.contracts.envelope import TypedEvent

ORDER_UPSERTED = "orders.order.upserted"
LISTING_UPSERTED = "orders.listing.upserted"
STOCK_UPSERTED = "orders.stock.upserted"
SOURCE = "soleflip.orders"
#: What `numeric(10,4)` holds: a sale at 1,000,000 times its cost is not one to store.
MAX_ROI = Decimal("999999.9999")


class OrderSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """An order as orders holds it after a change: StockX's view plus fees and profit.

    `fees_source` is `stockx` when StockX's payout breakdown was present, `estimate` when the
    figures come from the fee schedule; `profit`/`roi` are null until a stock item is linked.
    """

    order_number: str
    status: str
    listing_id: str | None = None
    stock_item_id: RowId | None = None
    variant_id: str | None = None
    product_id: str | None = None
    amount: Money | None = None
    net_proceeds: Money | None = None
    fees_source: str | None = None
    landed_cost: Money | None = None
    profit: Money | None = None
    roi: Decimal | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        check_ratio(self.roi, "roi", limit=MAX_ROI)


class ListingSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A listing as orders holds it after a change."""

    listing_id: str
    status: str
    variant_id: str | None = None
    product_id: str | None = None
    stock_item_id: RowId | None = None
    amount: Money | None = None
    expires_at: datetime | None = None
    updated_at: datetime | None = None


class StockSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One unit of stock the seller owns (a purchase of quantity n gives n units)."""

    stock_item_id: RowId
    external_id: str
    sku: str
    size: str
    size_type: str
    status: str
    unit_cost: Money
    variant_id: str | None = None
    listing_id: str | None = None
    order_number: str | None = None
    #: What the unit really cost (price less reclaimed VAT, plus inbound and other costs);
    #: null while the cost is unknown (`cost_missing`): nothing may be priced off it.
    #: Readers of events without these fields use `unit_cost`.
    landed_cost: Money | None = None
    cost_missing: bool = False
    #: resolved | pending | ambiguous (null from publishers before variant resolution).
    variant_status: str | None = None


class _OrdersEvent(TypedEvent, frozen=True):
    """The base of every orders event (envelope fields from `TypedEvent`)."""


class OrderUpserted(_OrdersEvent, frozen=True, tag=ORDER_UPSERTED):
    """An order row changed (status, payout, link or profit)."""

    data: OrderSnapshot


class ListingUpserted(_OrdersEvent, frozen=True, tag=LISTING_UPSERTED):
    """A listing row changed."""

    data: ListingSnapshot


class StockUpserted(_OrdersEvent, frozen=True, tag=STOCK_UPSERTED):
    """A stock item was added or changed status."""

    data: StockSnapshot


OrdersEvent = OrderUpserted | ListingUpserted | StockUpserted

orders_event_decoder: msgspec.json.Decoder[OrdersEvent] = msgspec.json.Decoder(OrdersEvent)

__all__ = [
    "LISTING_UPSERTED",
    "ORDER_UPSERTED",
    "SOURCE",
    "STOCK_UPSERTED",
    "ListingSnapshot",
    "ListingUpserted",
    "OrderSnapshot",
    "OrderUpserted",
    "OrdersEvent",
    "StockSnapshot",
    "StockUpserted",
    "orders_event_decoder",
]
