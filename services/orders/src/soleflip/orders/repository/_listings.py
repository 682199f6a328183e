"""Write SQL of listings and their asynchronous StockX operations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from soleflip.common.db import Conn

#: The batch as one JSON parameter (see `_orders`: cheaper than one array per column).
_encoder = msgspec.json.Encoder(decimal_format="string")

LOCK_LISTINGS_SQL = """
SELECT listing_id, status, status_rank, updated_at
FROM listing WHERE listing_id = ANY($1::text[])
ORDER BY listing_id
FOR UPDATE
"""
UPSERT_LISTINGS_SQL = """
INSERT INTO listing AS x (
    listing_id, status, status_rank, variant_id, product_id, amount, currency, inventory_type,
    expires_at, order_number, created_at, updated_at, last_operation_id, style_id,
    variant_value, product_name)
SELECT listing_id, status, status_rank, variant_id, product_id, amount, currency, inventory_type,
       expires_at, order_number, created_at, updated_at, last_operation_id, style_id,
       variant_value, product_name
FROM json_to_recordset($1::text::json) AS t(
    listing_id text, status text, status_rank int, variant_id text, product_id text,
    amount numeric, currency text, inventory_type text, expires_at timestamptz,
    order_number text, created_at timestamptz, updated_at timestamptz, last_operation_id text,
    style_id text, variant_value text, product_name text)
ON CONFLICT (listing_id) DO UPDATE SET
    status = excluded.status,
    status_rank = excluded.status_rank,
    variant_id = coalesce(excluded.variant_id, x.variant_id),
    product_id = coalesce(excluded.product_id, x.product_id),
    amount = coalesce(excluded.amount, x.amount),
    currency = coalesce(excluded.currency, x.currency),
    inventory_type = coalesce(excluded.inventory_type, x.inventory_type),
    expires_at = coalesce(excluded.expires_at, x.expires_at),
    order_number = coalesce(excluded.order_number, x.order_number),
    created_at = coalesce(x.created_at, excluded.created_at),
    updated_at = excluded.updated_at,
    last_operation_id = coalesce(excluded.last_operation_id, x.last_operation_id),
    style_id = coalesce(excluded.style_id, x.style_id),
    variant_value = coalesce(excluded.variant_value, x.variant_value),
    product_name = coalesce(excluded.product_name, x.product_name),
    synced_at = now()
WHERE (excluded.updated_at, excluded.status_rank) > (x.updated_at, x.status_rank)
   OR ((excluded.updated_at, excluded.status_rank) = (x.updated_at, x.status_rank)
       AND (x.amount IS DISTINCT FROM excluded.amount
            OR x.expires_at IS DISTINCT FROM excluded.expires_at
            OR (x.style_id IS NULL AND excluded.style_id IS NOT NULL)))
RETURNING listing_id, status, variant_id, product_id, stock_item_id, amount, currency, expires_at,
          updated_at
"""
SELECT_LISTINGS_SQL = """
SELECT listing_id, status, variant_id, product_id, stock_item_id, amount, currency, expires_at,
       updated_at
FROM listing WHERE listing_id = ANY($1::text[])
ORDER BY listing_id
"""
# Active listings no unit stands for (made in the StockX app, or before SoleFlip).
ADOPTABLE_SQL = """
SELECT l.listing_id, l.variant_id, l.product_id, l.style_id, l.variant_value, l.currency,
       l.created_at
FROM listing l
WHERE l.status = 'ACTIVE' AND l.stock_item_id IS NULL AND l.variant_id IS NOT NULL
  AND l.currency IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM stock_item s WHERE s.listing_id = l.listing_id)
ORDER BY l.listing_id
LIMIT $1
"""
CLAIM_FOR_UNITS_SQL = """
UPDATE listing l SET stock_item_id = s.id
FROM stock_item s
WHERE s.id = ANY($1::bigint[]) AND l.listing_id = s.listing_id AND l.stock_item_id IS NULL
RETURNING l.listing_id, l.status, l.variant_id, l.product_id, l.stock_item_id, l.amount,
          l.currency, l.expires_at, l.updated_at
"""
INSERT_OPERATION_SQL = """
INSERT INTO listing_operation (operation_id, listing_id, kind, status, batch_id, request)
VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)
ON CONFLICT (operation_id) DO NOTHING
"""
PENDING_OPERATIONS_SQL = """
SELECT operation_id, listing_id, kind, batch_id, attempts
FROM listing_operation WHERE settled_at IS NULL
ORDER BY created_at LIMIT $1
"""
SETTLE_OPERATION_SQL = """
UPDATE listing_operation
SET status = $2, error = $3, settled_at = now(), updated_at = now(), attempts = attempts + 1
WHERE operation_id = $1 AND settled_at IS NULL
"""
TOUCH_OPERATION_SQL = """
UPDATE listing_operation SET attempts = attempts + 1, updated_at = now()
WHERE operation_id = $1
"""
ATTACH_STOCK_SQL = """
UPDATE listing SET stock_item_id = $2 WHERE listing_id = $1 AND stock_item_id IS NULL
"""
INSERT_PLACEHOLDER_SQL = """
INSERT INTO listing (listing_id, status, status_rank, variant_id, amount, currency,
                     stock_item_id, updated_at)
VALUES ($1, 'PENDING', 0, $2, $3, $4, $5, '1970-01-01T00:00:00Z')
ON CONFLICT (listing_id) DO UPDATE SET stock_item_id = coalesce(listing.stock_item_id, $5)
"""


@dataclass(frozen=True, slots=True)
class ListingRow:
    """One listing version to write."""

    listing_id: str
    status: str
    status_rank: int
    variant_id: str | None
    product_id: str | None
    amount: Decimal | None
    currency: str | None
    inventory_type: str | None
    expires_at: datetime | None
    order_number: str | None
    created_at: datetime | None
    updated_at: datetime
    last_operation_id: str | None
    style_id: str | None = None
    variant_value: str | None = None
    product_name: str | None = None


async def lock_listings(conn: Conn, ids: Sequence[str]) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(LOCK_LISTINGS_SQL, sorted(ids))
    return {row["listing_id"]: row for row in rows}


async def upsert_listings(conn: Conn, rows: Sequence[ListingRow]) -> list[asyncpg.Record]:
    """Write `rows` in one statement; returns the listings actually changed as written (the
    columns of `select_listings`), by listing id."""
    if not rows:
        return []
    rows = sorted(rows, key=lambda r: r.listing_id)
    written = await conn.fetch(UPSERT_LISTINGS_SQL, _encoder.encode(rows).decode())
    return sorted(written, key=lambda row: row["listing_id"])


async def select_listings(conn: Conn, ids: Sequence[str]) -> list[asyncpg.Record]:
    return list(await conn.fetch(SELECT_LISTINGS_SQL, list(ids)))


async def record_operation(
    conn: Conn,
    operation_id: str,
    listing_id: str,
    kind: str,
    *,
    status: str = "PENDING",
    batch_id: str | None = None,
    request: str = "{}",
) -> None:
    await conn.execute(
        INSERT_OPERATION_SQL, operation_id, listing_id, kind, status, batch_id, request
    )


async def pending_operations(conn: Conn, limit: int = 100) -> list[asyncpg.Record]:
    return list(await conn.fetch(PENDING_OPERATIONS_SQL, limit))


async def settle_operation(conn: Conn, operation_id: str, status: str, error: str | None) -> None:
    await conn.execute(SETTLE_OPERATION_SQL, operation_id, status, error)


async def touch_operation(conn: Conn, operation_id: str) -> None:
    await conn.execute(TOUCH_OPERATION_SQL, operation_id)


async def claim_listing_for_stock(
    conn: Conn,
    listing_id: str,
    variant_id: str,
    amount: Decimal,
    currency: str,
    stock_item_id: int,
) -> None:
    """Remember a listing we created before StockX reports it (its version loses to any real
    one, so the first StockX snapshot replaces everything but the stock link)."""
    await conn.execute(
        INSERT_PLACEHOLDER_SQL, listing_id, variant_id, amount, currency, stock_item_id
    )


async def adoptable_listings(conn: Conn, limit: int) -> list[asyncpg.Record]:
    return list(await conn.fetch(ADOPTABLE_SQL, limit))


async def claim_listings_for_units(conn: Conn, stock_ids: Sequence[int]) -> list[asyncpg.Record]:
    """Each listing of these units now names its unit; returns those listings as written (the
    columns of `select_listings`), by listing id."""
    rows = await conn.fetch(CLAIM_FOR_UNITS_SQL, list(stock_ids))
    return sorted(rows, key=lambda row: row["listing_id"])
