"""Response bodies of the REST API (money as {"amount", "currency"}, RFC 3339 UTC times)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from soleflip.common.contracts.bounds import Money
from soleflip.orders.events import (
    from_row,
    listing_snapshot,
    money,
    order_snapshot,
    stock_snapshot,
)


class ProductView(msgspec.Struct, frozen=True):
    """What a row is, readable: from orders' copy of the catalog (`catalog.product.upserted`);
    null until the catalog knows the product. `size_type`/`size` are the variant's own size
    (a unit's are its own purchase columns); `style_id` falls back to StockX's or the SKU."""

    title: str | None = None
    brand: str | None = None
    style_id: str | None = None
    colorway: str | None = None
    size_type: str | None = None
    size: str | None = None
    image_url: str | None = None


def product_view(row: asyncpg.Record) -> ProductView:
    """The readable columns of a row (`queries.readable`); empty when the row lacks them."""
    return ProductView(
        title=row.get("product_title"),
        brand=row.get("brand"),
        style_id=row.get("style_id"),
        colorway=row.get("colorway"),
        size_type=row.get("variant_size_type"),
        size=row.get("variant_size"),
        image_url=row.get("image_url"),
    )


class StatusChangeView(msgspec.Struct, frozen=True):
    status: str
    previous_status: str | None
    changed_at: datetime
    source: str


class FeesView(msgspec.Struct, frozen=True):
    """The deductions of a sale; `source` is `stockx` (payout breakdown) or `estimate`."""

    source: str | None
    transaction_fee: Money | None
    processing_fee: Money | None
    shipping_fee: Money | None


class OrderView(msgspec.Struct, frozen=True):
    order_number: str
    status: str
    listing_id: str | None
    stock_item_id: int | None
    variant_id: str | None
    product_id: str | None
    amount: Money | None
    fees: FeesView
    net_proceeds: Money | None
    landed_cost: Money | None
    profit: Money | None
    roi: Decimal | None
    unmatched: bool
    created_at: datetime | None
    updated_at: datetime
    #: The profit at the sale date's rate in the base currency (`SOLEFLIP_BASE_CURRENCY`).
    profit_base: Money | None = None
    roi_base: Decimal | None = None
    #: `same_currency`, `converted` (an FX rate was used) or `fx_missing` (profit waits for a
    #: rate; never a silent null); None while the sale has no profit to convert.
    fx_status: str | None = None
    fx_rate_date: date | None = None
    #: When StockX paid the sale out (first PAYOUTCOMPLETED / COMPLETED), or when it is expected
    #: to (docs/payouts.md); the expected amount is `net_proceeds`.
    payout_expected_at: datetime | None = None
    payout_received_at: datetime | None = None
    payout: Any = None
    shipment: Any = None
    #: Since when StockX answers 404 for this order (known only from a webhook), else null.
    stockx_missing_since: datetime | None = None
    product: ProductView = ProductView()
    history: list[StatusChangeView] | None = None


class ListingView(msgspec.Struct, frozen=True):
    listing_id: str
    status: str
    variant_id: str | None
    product_id: str | None
    stock_item_id: int | None
    amount: Money | None
    inventory_type: str | None
    expires_at: datetime | None
    order_number: str | None
    created_at: datetime | None
    updated_at: datetime | None
    last_operation_id: str | None
    product: ProductView = ProductView()


class StockChangeView(msgspec.Struct, frozen=True):
    """One entry of a unit's history: the status after it, what else changed, who and why."""

    status: str
    previous_status: str | None
    changes: dict[str, Any]
    source: str
    actor: str | None
    reason: str | None
    changed_at: datetime


class StockView(msgspec.Struct, frozen=True):
    id: int
    external_id: str
    unit: int
    sku: str
    size: str
    size_type: str
    variant_id: str | None
    unit_cost: Money
    inbound_cost: Money
    supplier: str
    purchased_at: datetime
    status: str
    listing_id: str | None
    order_number: str | None
    location: str | None = None
    condition: str = "new"
    notes: str | None = None
    updated_at: datetime | None = None
    vat_amount: Money | None = None
    vat_rate_pct: Decimal = Decimal(0)
    inbound_shipping: Money | None = None
    other_costs: Money | None = None
    #: price - VAT (when reclaimable) + inbound shipping + other costs; null: cost unknown.
    landed_cost: Money | None = None
    cost_missing: bool = False
    #: resolved (variant_id known), pending (not in the catalog yet) or ambiguous (pick one).
    variant_status: str = "pending"
    #: The supplier entity (`/api/v1/suppliers/{id}`) whose name `supplier` is.
    supplier_id: int | None = None
    product: ProductView = ProductView()
    history: list[StockChangeView] | None = None


class Page(msgspec.Struct, frozen=True):
    """A cursor-paginated list: pass `next_cursor` back as `cursor` for the next page."""

    items: list[Any]
    next_cursor: str | None


def fx_status_of(row: asyncpg.Record) -> str | None:
    """Whether the sale's profit needed a rate, and whether one existed (README "Currencies")."""
    if row["fx_status"] == "fx_missing" or (
        row["profit"] is not None and row["profit_base"] is None
    ):
        return "fx_missing"
    if row["profit"] is None:
        return None
    converted = row["fx_status"] == "converted" or row["currency"] != row["base_currency"]
    return "converted" if converted else "same_currency"


def order_view(row: asyncpg.Record, history: list[asyncpg.Record] | None = None) -> OrderView:
    """The order's snapshot (as published) plus its fee breakdown, payout, shipment, history."""
    fields = msgspec.structs.asdict(order_snapshot(row))
    c = row["currency"]
    fees = FeesView(
        fields.pop("fees_source"),
        money(row["transaction_fee"], c),
        money(row["processing_fee"], c),
        money(row["shipping_fee"], c),
    )
    return from_row(
        OrderView,
        row,
        **fields,
        fees=fees,
        profit_base=money(row["profit_base"], row["base_currency"]),
        roi_base=row["roi"] if row["profit_base"] is not None else None,
        fx_status=fx_status_of(row),
        unmatched=row["stock_item_id"] is None,
        product=product_view(row),
        history=None if history is None else [StatusChangeView(*h.values()) for h in history],
    )


def listing_view(row: asyncpg.Record) -> ListingView:
    """The listing's snapshot (as published) plus what only the API shows."""
    fields = msgspec.structs.asdict(listing_snapshot(row))
    return from_row(ListingView, row, **fields, product=product_view(row))


def stock_view(row: asyncpg.Record, history: list[asyncpg.Record] | None = None) -> StockView:
    """The unit's snapshot (as published) plus its costs, provenance and history."""
    fields = msgspec.structs.asdict(stock_snapshot(row))
    fields["id"] = fields.pop("stock_item_id")
    c = row["currency"]
    return from_row(
        StockView,
        row,
        **fields,
        inbound_cost=Money(amount=row["inbound_cost"], currency=c),
        vat_amount=Money(amount=row["vat_amount"], currency=c),
        inbound_shipping=Money(amount=row["inbound_cost"], currency=c),
        other_costs=Money(amount=row["other_cost"], currency=c),
        supplier_id=row.get("supplier_id"),
        product=product_view(row),
        history=None if history is None else [StockChangeView(**dict(h)) for h in history],
    )


class PendingPayoutView(msgspec.Struct, frozen=True):
    """One sale StockX has not paid out yet: what and when it is expected to pay."""

    order_number: str
    status: str
    expected_payout: Money | None
    #: `stockx` (StockX's payout breakdown) or `estimate` (the fee schedule's).
    payout_source: str | None
    expected_at: datetime | None
    created_at: datetime | None


class PayoutTotalView(msgspec.Struct, frozen=True):
    """Pending payouts of one currency: how many sales, their sum, and how sure it is."""

    currency: str
    sales: int
    amount: Money
    estimated: int
    unknown: int


class PendingPayoutsPage(msgspec.Struct, frozen=True):
    """`GET /api/v1/payouts/pending`: totals over every pending sale, then a page of them."""

    totals: list[PayoutTotalView]
    items: list[PendingPayoutView]
    next_cursor: str | None


def pending_view(row: asyncpg.Record) -> PendingPayoutView:
    return from_row(
        PendingPayoutView,
        row,
        expected_payout=money(row["net_proceeds"], row["currency"]),
        payout_source=row["fees_source"],
        expected_at=row["payout_expected_at"],
    )


def total_view(row: asyncpg.Record) -> PayoutTotalView:
    amount = row["amount"] if row["amount"] is not None else Decimal("0.00")
    return from_row(PayoutTotalView, row, amount=Money(amount=amount, currency=row["currency"]))
