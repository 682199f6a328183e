"""Write SQL of stock items: purchases become units, idempotent on (external_id, unit)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from soleflip.common.db import Conn

INSERT_UNITS_SQL = """
INSERT INTO stock_item (external_id, unit, sku, size, size_type, unit_cost, currency, supplier,
                        purchased_at, status)
SELECT e, u, k, s, st, c, cur, sup, pa, stat
FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::numeric[],
            $7::text[], $8::text[], $9::timestamptz[], $10::text[])
     AS t(e, u, k, s, st, c, cur, sup, pa, stat)
ON CONFLICT (external_id, unit) DO NOTHING
RETURNING id
"""
SELECT_STOCK_SQL = """
SELECT id, external_id, sku, size, size_type, status, unit_cost, currency, variant_id,
       listing_id, order_number
FROM stock_item WHERE id = ANY($1::bigint[])
ORDER BY id
"""
LOCK_STOCK_ITEM_SQL = "SELECT * FROM stock_item WHERE id = $1 FOR UPDATE"
SET_VARIANT_SQL = "UPDATE stock_item SET variant_id = $2, updated_at = now() WHERE id = $1"
MARK_LISTED_SQL = """
UPDATE stock_item SET status = 'LISTED', listing_id = $2, updated_at = now()
WHERE id = $1 AND status = 'IN_STOCK'
"""
# Names the writer of the transaction's stock changes for the `stock_item_audit` trigger; a
# NULL leaves that name as it was (the API names the actor, the handler the reason).
STOCK_CONTEXT_SQL = """
SELECT CASE WHEN $1::text IS NOT NULL THEN set_config('soleflip.stock_source', $1, true) END,
       CASE WHEN $2::text IS NOT NULL THEN set_config('soleflip.stock_actor', $2, true) END,
       CASE WHEN $3::text IS NOT NULL THEN set_config('soleflip.stock_reason', $3, true) END
"""
#: The columns a person may change (PATCH); the SET list is built from these names only.
EDITABLE_COLUMNS = ("status", "supplier", "location", "condition", "notes", "unit_cost")
RELEASE_SQL = """
UPDATE stock_item SET status = 'IN_STOCK', listing_id = NULL, updated_at = now()
WHERE listing_id = ANY($1::text[]) AND status = 'LISTED'
RETURNING id
"""


@dataclass(frozen=True, slots=True)
class StockUnit:
    """One unit of a purchase."""

    external_id: str
    unit: int
    sku: str
    size: str
    size_type: str
    unit_cost: Decimal
    currency: str
    supplier: str
    purchased_at: datetime
    status: str = "IN_STOCK"


async def insert_units(conn: Conn, units: Sequence[StockUnit]) -> list[int]:
    """Insert the units not seen before; returns the new ids."""
    if not units:
        return []
    tuples = [
        (
            u.external_id,
            u.unit,
            u.sku,
            u.size,
            u.size_type,
            u.unit_cost,
            u.currency,
            u.supplier,
            u.purchased_at,
            u.status,
        )
        for u in units
    ]
    columns = [list(col) for col in zip(*tuples, strict=True)]
    return [row["id"] for row in await conn.fetch(INSERT_UNITS_SQL, *columns)]


async def select_stock(conn: Conn, ids: Sequence[int]) -> list[asyncpg.Record]:
    return list(await conn.fetch(SELECT_STOCK_SQL, list(ids)))


async def lock_stock_item(conn: Conn, stock_item_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(LOCK_STOCK_ITEM_SQL, stock_item_id)
    return row


async def set_variant(conn: Conn, stock_item_id: int, variant_id: str) -> None:
    await conn.execute(SET_VARIANT_SQL, stock_item_id, variant_id)


async def mark_listed(conn: Conn, stock_item_id: int, listing_id: str) -> None:
    await stock_context(conn, reason="listed")
    await conn.execute(MARK_LISTED_SQL, stock_item_id, listing_id)


async def release_units(conn: Conn, listing_ids: Sequence[str]) -> list[int]:
    """Units whose listing ended without a sale (deleted, cancelled) are back in stock."""
    await stock_context(conn, reason="delisted")
    return [row["id"] for row in await conn.fetch(RELEASE_SQL, list(listing_ids))]


async def stock_context(
    conn: Conn,
    source: str | None = None,
    *,
    actor: str | None = None,
    reason: str | None = None,
) -> None:
    """Name who or what makes this transaction's stock changes (kept in `stock_history`)."""
    await conn.execute(STOCK_CONTEXT_SQL, source, actor, reason)


async def update_stock(conn: Conn, stock_item_id: int, values: dict[str, object]) -> None:
    """Set `values` (keys from `EDITABLE_COLUMNS` only) on one unit."""
    columns = [c for c in EDITABLE_COLUMNS if c in values]
    if len(columns) != len(values):
        raise ValueError(f"not editable: {sorted(set(values) - set(columns))}")
    if not columns:
        return
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    sql = f"UPDATE stock_item SET {assignments}, updated_at = now() WHERE id = $1"  # noqa: S608
    await conn.execute(sql, stock_item_id, *(values[c] for c in columns))
