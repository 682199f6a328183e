"""Denormalized copies of what orders and catalog own: listings, stock (landed cost), sales and
products (brand, style id). Each change re-evaluates the listings it affects.

The reprice loop closes here: a listing event carrying the requested amount settles the request;
one still carrying another amount `reject_after` after the request means StockX did not apply it,
so auto-repricing of that listing halts with an alert until someone re-enables it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from soleflip.common.contracts import CloudEvent
from soleflip.common.contracts.catalog import ProductData, RemapData
from soleflip.common.contracts.orders import ListingSnapshot, OrderSnapshot, StockSnapshot
from soleflip.common.db import Conn
from soleflip.common.observability import get_logger
from soleflip.common.stockx import NO_SALE_ORDER_STATUSES
from soleflip.pricing import queries, repository
from soleflip.pricing.handlers._reprice import reevaluate
from soleflip.pricing.metrics import REPRICES
from soleflip.pricing.queries import PendingReprice

log = get_logger(__name__)


async def apply_listing(
    listing: ListingSnapshot,
    *,
    conn: Conn,
    now: datetime,
    reject_after: timedelta,
    cause: CloudEvent | None = None,
) -> None:
    """Mirror a listing; settle or reject a pending reprice; re-evaluate it."""
    before = await queries.pending_reprice(conn, listing.listing_id)
    amount = None if listing.amount is None else listing.amount.amount
    if not await repository.upsert_listing(conn, listing):
        return  # older than what we hold
    if before is not None and before.pending_amount is not None:
        await _settle_pending(conn, listing, amount, before, now, reject_after)
    await reevaluate(conn=conn, now=now, listings=[listing.listing_id], cause=cause)


async def _settle_pending(
    conn: Conn,
    listing: ListingSnapshot,
    amount: object,
    before: PendingReprice,
    now: datetime,
    reject_after: timedelta,
) -> None:
    pending, since = before.pending_amount, before.pending_since
    if amount == pending or listing.status != "ACTIVE":
        REPRICES.labels("applied" if amount == pending else "overtaken").inc()
        await repository.settle_pending(conn, listing.listing_id, None)
    elif since is not None and now - since >= reject_after:
        reason = f"StockX did not apply the reprice to {pending} (listing still at {amount})"
        REPRICES.labels("rejected").inc()
        log.error("pricing.reprice_rejected", listing_id=listing.listing_id, reason=reason)
        await repository.settle_pending(conn, listing.listing_id, reason)


async def apply_stock(
    stock: StockSnapshot, *, conn: Conn, now: datetime, cause: CloudEvent | None = None
) -> None:
    """Mirror a stock item with its landed cost (the floor's input; unknown: NULL, held)."""
    await repository.upsert_stock(conn, stock)
    if stock.listing_id is not None:
        await reevaluate(conn=conn, now=now, listings=[stock.listing_id], cause=cause)


async def apply_order(order: OrderSnapshot, *, conn: Conn, now: datetime) -> None:
    """Learn a realised sale price (and forget it if the sale fell through: every status orders
    counts as no sale, `NO_SALE_ORDER_STATUSES`)."""
    if order.status.upper() in NO_SALE_ORDER_STATUSES:
        await repository.delete_sale(conn, order.order_number)
        return
    if order.variant_id is None or order.amount is None:
        return
    await repository.upsert_sale(conn, order, order.created_at or now)


async def apply_product(product: ProductData, *, conn: Conn, now: datetime) -> None:
    """Mirror brand and style id per StockX variant (rules are scoped by them)."""
    variant_ids = [v.stockx_variant_id for v in product.variants]
    if not variant_ids:
        return
    await repository.upsert_variants(
        conn, variant_ids, product.stockx_product_id, product.brand, product.style_id
    )
    await reevaluate(conn=conn, now=now, variants=variant_ids)


async def apply_remap(remap: RemapData, *, conn: Conn) -> None:
    """Follow a product to its new StockX id, so the poller stops asking for the dead one."""
    await repository.remap_product(conn, remap.old_stockx_product_id, remap.new_stockx_product_id)


async def expire_pending(*, conn: Conn, now: datetime, reject_after: timedelta) -> list[str]:
    """Halt listings whose reprice request got no answer at all within `reject_after` (orders
    reports a rejected write by the listing keeping its amount, or not at all)."""
    seconds = str(int(reject_after.total_seconds()))
    halted = await repository.expire_pending(conn, now - reject_after, seconds)
    for listing_id, reason in halted:
        REPRICES.labels("rejected").inc()
        log.error("pricing.reprice_rejected", listing_id=listing_id, reason=reason)
    return [listing_id for listing_id, _ in halted]
