"""StockX resources (webhook or poll, one shape) to the rows the repository writes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from soleflip.common.stockx import ListingSummary, Order, OrderSummary
from soleflip.orders.domain import (
    EPOCH,
    SELLER_FAULT_STATUSES,
    FeeBook,
    Fees,
    fees_from_payout,
    listing_rank,
    order_rank,
    version,
)
from soleflip.orders.repository import ListingRow, OrderRow

_encoder = msgspec.json.Encoder(decimal_format="string")


def order_version(order: OrderSummary) -> tuple[datetime, int]:
    return version(order.updated_at, order_rank(order.status or "UNKNOWN"))


def listing_version(listing: ListingSummary) -> tuple[datetime, int]:
    return version(listing.updated_at, listing_rank(listing.status or "UNKNOWN"))


def _fees(order: OrderSummary, fees: FeeBook) -> tuple[Fees | None, str | None]:
    payout = order.payout
    if payout is not None and payout.total_payout is not None:
        pairs = [(a.adjustment_type, a.amount) for a in payout.adjustments]
        return fees_from_payout(payout.total_payout, pairs), "stockx"
    if order.amount is None or order.currency_code is None:
        return None, None
    on = order.created_at or order.updated_at or EPOCH
    computed = fees.estimate(order.amount, order.currency_code, on)
    return computed, "estimate" if computed is not None else None


def _cancellation_fee(order: OrderSummary, status: str, fees: FeeBook) -> Decimal | None:
    if status not in SELLER_FAULT_STATUSES or order.currency_code is None:
        return None
    on = order.updated_at or order.created_at or EPOCH
    return fees.cancellation_fee(order.currency_code, on)


def order_row(order: OrderSummary, fees: FeeBook) -> OrderRow:
    """The row of one order snapshot, with fees (StockX's breakdown, else the estimate)."""
    status = order.status or "UNKNOWN"
    computed, source = _fees(order, fees)
    shipment = order.shipment if isinstance(order, Order) else None
    payout = order.payout
    product, variant = order.product, order.variant
    return OrderRow(
        order_number=order.order_number,
        status=status,
        status_rank=order_rank(status),
        listing_id=order.listing_id,
        variant_id=variant.variant_id if variant else None,
        product_id=product.product_id if product else None,
        amount=order.amount,
        currency=order.currency_code,
        inventory_type=order.inventory_type,
        payout_json=_json(payout) if source == "stockx" else None,
        shipment_json=_json(shipment) if shipment else None,
        transaction_fee=computed.transaction_fee if computed else None,
        processing_fee=computed.processing_fee if computed else None,
        shipping_fee=computed.shipping_fee if computed else None,
        net_proceeds=computed.payout if computed else None,
        fees_source=source,
        cancellation_fee=_cancellation_fee(order, status, fees),
        created_at=order.created_at,
        updated_at=order.updated_at or EPOCH,
        product_name=product.product_name if product else None,
        style_id=product.style_id if product else None,
        variant_value=variant.variant_value if variant else None,
    )


def _json(value: object) -> str:
    return _encoder.encode(value).decode()


def listing_row(listing: ListingSummary) -> ListingRow:
    status = listing.status or "UNKNOWN"
    last_op = getattr(listing, "last_operation", None)
    return ListingRow(
        listing_id=listing.listing_id,
        status=status,
        status_rank=listing_rank(status),
        variant_id=listing.variant.variant_id if listing.variant else None,
        product_id=listing.product.product_id if listing.product else None,
        amount=listing.amount,
        currency=listing.currency_code,
        inventory_type=listing.inventory_type,
        expires_at=listing.ask.ask_expires_at if listing.ask else None,
        order_number=listing.order.order_number if listing.order else None,
        created_at=listing.created_at,
        updated_at=listing.updated_at or EPOCH,
        last_operation_id=last_op.operation_id if last_op is not None else None,
        style_id=listing.product.style_id if listing.product else None,
        variant_value=listing.variant.variant_value if listing.variant else None,
        product_name=listing.product.product_name if listing.product else None,
    )
