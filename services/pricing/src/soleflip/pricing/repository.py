"""Write SQL of pricing: market observations, mirrors of orders and catalog, rules, fees,
recommendations and reprice bookkeeping. Batch writes use `unnest` (hot paths)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from soleflip.common.contracts.orders import ListingSnapshot, OrderSnapshot, StockSnapshot
from soleflip.common.db import Conn

UPSERT_MARKET_SQL = """
INSERT INTO market_latest AS m (variant_id, currency, product_id, lowest_ask, highest_bid,
                                sell_faster, earn_more, observed_at, changed_at)
SELECT v, c, p, a, b, f, e, t, t
FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[],
            $7::numeric[], $8::timestamptz[]) AS x(v, c, p, a, b, f, e, t)
ON CONFLICT (variant_id, currency) DO UPDATE SET
    product_id = coalesce(excluded.product_id, m.product_id),
    lowest_ask = excluded.lowest_ask, highest_bid = excluded.highest_bid,
    sell_faster = excluded.sell_faster, earn_more = excluded.earn_more,
    observed_at = excluded.observed_at, changed_at = excluded.changed_at
WHERE m.observed_at <= excluded.observed_at
"""
INSERT_SNAPSHOTS_SQL = """
INSERT INTO market_snapshot (variant_id, currency, product_id, lowest_ask, highest_bid,
                             sell_faster, earn_more, observed_at, source)
SELECT v, c, p, a, b, f, e, t, $9
FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[],
            $7::numeric[], $8::timestamptz[]) AS x(v, c, p, a, b, f, e, t)
"""
TOUCH_MARKET_SQL = """
UPDATE market_latest AS m SET observed_at = x.t
FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS x(v, c, t)
WHERE m.variant_id = x.v AND m.currency = x.c AND m.observed_at < x.t
"""
UPSERT_LISTING_SQL = """
INSERT INTO listing AS l (listing_id, status, variant_id, product_id, stock_item_id, amount,
                          currency, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (listing_id) DO UPDATE SET
    status = excluded.status, variant_id = coalesce(excluded.variant_id, l.variant_id),
    product_id = coalesce(excluded.product_id, l.product_id),
    stock_item_id = coalesce(excluded.stock_item_id, l.stock_item_id),
    amount = excluded.amount, currency = coalesce(excluded.currency, l.currency),
    updated_at = excluded.updated_at
WHERE l.updated_at IS NULL OR excluded.updated_at IS NULL OR l.updated_at <= excluded.updated_at
RETURNING listing_id
"""
SETTLE_PENDING_SQL = """
UPDATE listing SET pending_amount = NULL, pending_since = NULL, halted_reason = $2
WHERE listing_id = $1
"""
UPSERT_STOCK_SQL = """
INSERT INTO stock_item (stock_item_id, variant_id, listing_id, status, unit_cost, currency)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (stock_item_id) DO UPDATE SET
    variant_id = excluded.variant_id, listing_id = excluded.listing_id,
    status = excluded.status, unit_cost = excluded.unit_cost, currency = excluded.currency
"""
UPSERT_SALE_SQL = """
INSERT INTO sale_price (order_number, variant_id, amount, currency, sold_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (order_number) DO UPDATE SET
    variant_id = excluded.variant_id, amount = excluded.amount, currency = excluded.currency
"""
DELETE_SALE_SQL = "DELETE FROM sale_price WHERE order_number = $1"
UPSERT_VARIANTS_SQL = """
INSERT INTO variant (variant_id, product_id, brand, style_id)
SELECT v, $2, $3, $4 FROM unnest($1::text[]) AS v
ON CONFLICT (variant_id) DO UPDATE SET
    product_id = excluded.product_id, brand = excluded.brand, style_id = excluded.style_id
"""
#: StockX gave a product a new id (catalog found it again by style id): poll the new one.
REMAP_PRODUCT_SQL = """
WITH v AS (UPDATE variant SET product_id = $2 WHERE product_id = $1)
UPDATE market_latest SET product_id = $2 WHERE product_id = $1
"""
#: Recommendations are written with COPY (the hot path of a full re-evaluation), in this order.
RECOMMENDATION_COLUMNS = (
    "id", "listing_id", "variant_id", "rule_id", "strategy", "currency", "price",
    "current", "floor", "payout", "profit", "status", "reason", "created_at", "inputs",
)  # fmt: skip
#: Stores each listing's last recommendation and books the requested reprices, in one pass over
#: the rows (a full re-evaluation rewrites every listing: one new row version each, not two). A
#: listing already pending the same amount is not booked again and its recommendation is held;
#: under READ COMMITTED a concurrent evaluation that booked it first is seen by the re-checked
#: row (every SET reads the latest version), so two consumers racing on one listing send one
#: command, not two. Returns the requested listings that were not booked.
MARK_RECOMMENDED_SQL = """
WITH marked AS (
    UPDATE listing AS l SET
        rec_price = x.p,
        rec_status = CASE WHEN x.s = $4 AND l.pending_amount = x.p THEN $5 ELSE x.s END,
        pending_amount = CASE WHEN x.s = $4 THEN x.p ELSE l.pending_amount END,
        pending_since = CASE WHEN x.s = $4 AND l.pending_amount IS DISTINCT FROM x.p
                             THEN $6 ELSE l.pending_since END,
        last_reprice_at = CASE WHEN x.s = $4 AND l.pending_amount IS DISTINCT FROM x.p
                               THEN $6 ELSE l.last_reprice_at END
    FROM unnest($1::text[], $2::numeric[], $3::text[]) AS x(id, p, s)
    WHERE l.listing_id = x.id
    RETURNING l.listing_id, l.rec_status, x.s
)
SELECT listing_id FROM marked WHERE s = $4 AND rec_status = $5
"""
INSERT_RULE_SQL = "INSERT INTO rule (id, priority, body) VALUES ($1, $2, $3)"
UPDATE_RULE_SQL = """
UPDATE rule SET priority = $2, body = $3, version = version + 1, updated_at = now()
WHERE id = $1 AND version = $4
RETURNING version
"""
DELETE_RULE_SQL = "DELETE FROM rule WHERE id = $1 RETURNING id"
INSERT_FEES_SQL = """
INSERT INTO fee_schedule (effective_from, schedule) VALUES ($1, $2) RETURNING id
"""
SET_AUTOREPRICE_SQL = """
UPDATE autoreprice SET enabled = $1, dry_run = $2, updated_at = now() RETURNING enabled, dry_run
"""
#: Reprice requests nobody answered within the window: StockX (or orders) did not apply them.
EXPIRE_PENDING_SQL = """
UPDATE listing SET halted_reason = 'no confirmation of the reprice to ' || pending_amount
                                   || ' within ' || $2::text || ' s',
                   pending_amount = NULL, pending_since = NULL
WHERE pending_since < $1
RETURNING listing_id, halted_reason
"""
CLEAR_HALTS_SQL = "UPDATE listing SET halted_reason = NULL WHERE halted_reason IS NOT NULL"

MarketRow = tuple[
    str, str, str | None, Decimal | None, Decimal | None, Decimal | None, Decimal | None, datetime
]


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


async def upsert_market(
    conn: Conn, rows: Sequence[MarketRow], *, changed: bool, source: str
) -> None:
    """Changed rows replace the latest figures and join the time series; unchanged ones only
    move `observed_at` (a repeat is proof of freshness, not a new data point)."""
    if not rows:
        return
    if changed:
        cols = _columns(rows, 8)
        await conn.execute(UPSERT_MARKET_SQL, *cols)
        await conn.execute(INSERT_SNAPSHOTS_SQL, *cols, source)
    else:
        await conn.execute(TOUCH_MARKET_SQL, *_columns([(r[0], r[1], r[7]) for r in rows], 3))


async def mark_recommended(
    conn: Conn,
    outcomes: Sequence[tuple[str, Decimal, str]],
    now: datetime,
    *,
    requested: str,
    held: str,
) -> set[str]:
    """Store `(listing, price, status)` as each listing's last recommendation and book those
    with status `requested`; returns the requested ones not booked (already pending that
    amount: stored as `held`)."""
    if not outcomes:
        return set()
    rows = await conn.fetch(MARK_RECOMMENDED_SQL, *_columns(outcomes, 3), requested, held, now)
    return {row[0] for row in rows}


async def insert_recommendations(conn: Conn, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        await conn.copy_records_to_table(
            "recommendation", records=rows, columns=RECOMMENDATION_COLUMNS
        )


async def insert_rule(conn: Conn, rule_id: Any, priority: int, body: dict[str, Any]) -> None:
    await conn.execute(INSERT_RULE_SQL, rule_id, priority, body)


async def update_rule(
    conn: Conn, rule_id: Any, priority: int, body: dict[str, Any], version: int
) -> bool:
    """Replace a rule if it is still at `version`; False when it changed meanwhile."""
    return await conn.fetchval(UPDATE_RULE_SQL, rule_id, priority, body, version) is not None


async def delete_rule(conn: Conn, rule_id: Any) -> bool:
    """False when there was no such rule."""
    return await conn.fetchval(DELETE_RULE_SQL, rule_id) is not None


async def insert_fees(conn: Conn, effective_from: datetime, schedule: dict[str, Any]) -> int:
    """Store a schedule; returns its id (the key of orders' copy)."""
    schedule_id: int = await conn.fetchval(INSERT_FEES_SQL, effective_from, schedule)
    return schedule_id


async def set_autoreprice(conn: Conn, enabled: bool, dry_run: bool) -> None:
    await conn.execute(SET_AUTOREPRICE_SQL, enabled, dry_run)


async def clear_halts(conn: Conn) -> None:
    """Lift every listing's auto-reprice halt."""
    await conn.execute(CLEAR_HALTS_SQL)


async def upsert_listing(conn: Conn, listing: ListingSnapshot) -> bool:
    """Mirror a listing unless what we hold is newer; True when it was applied."""
    amount = None if listing.amount is None else listing.amount.amount
    currency = None if listing.amount is None else listing.amount.currency
    applied = await conn.fetchval(
        UPSERT_LISTING_SQL,
        listing.listing_id,
        listing.status,
        listing.variant_id,
        listing.product_id,
        listing.stock_item_id,
        amount,
        currency,
        listing.updated_at,
    )
    return applied is not None


async def settle_pending(conn: Conn, listing_id: str, halted_reason: str | None) -> None:
    """Clear a listing's pending reprice; with a reason, halt its auto-repricing too."""
    await conn.execute(SETTLE_PENDING_SQL, listing_id, halted_reason)


async def expire_pending(conn: Conn, before: datetime, seconds: str) -> list[tuple[str, str]]:
    """Halt listings whose reprice has been pending since before `before`: (id, reason)."""
    return [(r[0], r[1]) for r in await conn.fetch(EXPIRE_PENDING_SQL, before, seconds)]


async def upsert_stock(conn: Conn, stock: StockSnapshot) -> None:
    """Mirror a stock item with its landed cost.

    An unknown cost (`cost_missing`, e.g. an adopted listing) is stored as NULL, so its
    listing has no floor and is held, never auto-repriced. Events from before landed cost
    existed carry only `unit_cost`, which was the landed cost then.
    """
    if stock.cost_missing:
        cost = None
    elif stock.landed_cost is not None:
        cost = stock.landed_cost.amount
    else:
        cost = stock.unit_cost.amount
    await conn.execute(
        UPSERT_STOCK_SQL,
        stock.stock_item_id,
        stock.variant_id,
        stock.listing_id,
        stock.status,
        cost,
        stock.unit_cost.currency,
    )


async def upsert_sale(conn: Conn, order: OrderSnapshot, sold_at: datetime) -> None:
    """A realised sale price (the order has a variant and an amount)."""
    assert order.amount is not None
    await conn.execute(
        UPSERT_SALE_SQL,
        order.order_number,
        order.variant_id,
        order.amount.amount,
        order.amount.currency,
        sold_at,
    )


async def delete_sale(conn: Conn, order_number: str) -> None:
    await conn.execute(DELETE_SALE_SQL, order_number)


async def upsert_variants(
    conn: Conn,
    variant_ids: list[str],
    product_id: str | None,
    brand: str | None,
    style_id: str | None,
) -> None:
    """Brand and style id of a product's StockX variants (rules are scoped by them)."""
    await conn.execute(UPSERT_VARIANTS_SQL, variant_ids, product_id, brand, style_id)


async def remap_product(conn: Conn, old_product_id: str, new_product_id: str) -> None:
    await conn.execute(REMAP_PRODUCT_SQL, old_product_id, new_product_id)


RECORD_POLL_FAILURE_SQL = """
INSERT INTO market_poll_failure AS f (product_id, failures, first_failed_at, last_failed_at,
                                      last_error)
VALUES ($1, 1, $2, $2, $3)
ON CONFLICT (product_id) DO UPDATE SET
    failures = f.failures + 1, last_failed_at = excluded.last_failed_at,
    last_error = excluded.last_error
RETURNING failures
"""
CLEAR_POLL_FAILURE_SQL = "DELETE FROM market_poll_failure WHERE product_id = $1"


async def record_poll_failure(conn: Conn, product_id: str, error: str, at: datetime) -> int:
    """Count one failed market poll of the product; its failures in a row so far."""
    return int(await conn.fetchval(RECORD_POLL_FAILURE_SQL, product_id, at, error[:500]))


async def clear_poll_failure(conn: Conn, product_id: str) -> None:
    """A poll of the product went through: its failure count starts over."""
    await conn.execute(CLEAR_POLL_FAILURE_SQL, product_id)
