"""Write SQL of stock items: purchases become units, idempotent on (external_id, unit)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from soleflip.common.db import Conn

#: A batch of units travels as one JSON parameter (as order upserts do).
_encoder = msgspec.json.Encoder(decimal_format="string")
INSERT_UNITS_SQL = """
INSERT INTO stock_item (external_id, unit, sku, size, size_type, unit_cost, currency, supplier,
                        purchased_at, status, vat_amount, vat_rate_pct, inbound_cost, other_cost,
                        landed_cost, cost_missing, variant_id, listing_id, sku_keys,
                        variant_status)
SELECT external_id, unit, sku, size, size_type, unit_cost, currency, supplier, purchased_at,
       status, vat_amount, vat_rate_pct, inbound_cost, other_cost, landed_cost, cost_missing,
       variant_id, listing_id, sku_keys, variant_status
FROM json_to_recordset($1::text::json) AS t(
    external_id text, unit int, sku text, size text, size_type text, unit_cost numeric,
    currency text, supplier text, purchased_at timestamptz, status text, vat_amount numeric,
    vat_rate_pct numeric, inbound_cost numeric, other_cost numeric, landed_cost numeric,
    cost_missing boolean, variant_id text, listing_id text, sku_keys text[],
    variant_status text)
ON CONFLICT (external_id, unit) DO NOTHING
RETURNING id, external_id, sku, size, size_type, status, unit_cost, currency, variant_id,
          listing_id, order_number, landed_cost, cost_missing, variant_status
"""
SET_LINK_STRATEGY_SQL = "UPDATE stock_settings SET link_strategy = $1, updated_at = now()"
VAT_RECLAIMABLE_SQL = "SELECT vat_reclaimable FROM stock_settings"
SET_VAT_RECLAIMABLE_SQL = """
UPDATE stock_settings SET vat_reclaimable = $1, updated_at = now()
WHERE vat_reclaimable IS DISTINCT FROM $1
RETURNING vat_reclaimable
"""
# Units whose landed cost depends on the VAT setting (locked: their cost is recomputed).
VAT_UNITS_SQL = """
SELECT id, unit_cost, vat_amount, inbound_cost, other_cost, order_number FROM stock_item
WHERE vat_amount <> 0 AND NOT cost_missing ORDER BY id FOR UPDATE
"""
SET_LANDED_COST_SQL = "UPDATE stock_item SET landed_cost = $2, updated_at = now() WHERE id = $1"
SELECT_STOCK_SQL = """
SELECT id, external_id, sku, size, size_type, status, unit_cost, currency, variant_id,
       listing_id, order_number, landed_cost, cost_missing, variant_status
FROM stock_item WHERE id = ANY($1::bigint[])
ORDER BY id
"""
LOCK_STOCK_ITEM_SQL = "SELECT * FROM stock_item WHERE id = $1 FOR UPDATE"
SET_VARIANT_SQL = """
UPDATE stock_item SET variant_id = $2, variant_status = 'resolved', updated_at = now()
WHERE id = $1
"""
MARK_LISTED_SQL = """
UPDATE stock_item SET status = 'LISTED', listing_id = $2, updated_at = now()
WHERE id = $1 AND status = 'IN_STOCK'
"""
RECORDED_SQL = "SELECT DISTINCT external_id FROM stock_item WHERE external_id = ANY($1::text[])"
# Names the writer of the transaction's stock changes for the `stock_item_audit` trigger; a
# NULL leaves that name as it was (the API names the actor, the handler the reason).
STOCK_CONTEXT_SQL = """
SELECT CASE WHEN $1::text IS NOT NULL THEN set_config('soleflip.stock_source', $1, true) END,
       CASE WHEN $2::text IS NOT NULL THEN set_config('soleflip.stock_actor', $2, true) END,
       CASE WHEN $3::text IS NOT NULL THEN set_config('soleflip.stock_reason', $3, true) END
"""
#: The columns a person may change (PATCH); the SET list is built from these names only.
EDITABLE_COLUMNS = (
    "status",
    "supplier",
    "supplier_id",
    "location",
    "condition",
    "notes",
    "unit_cost",
    "vat_amount",
    "vat_rate_pct",
    "inbound_cost",
    "other_cost",
    "landed_cost",
    "cost_missing",
    "variant_id",
    "variant_status",
)
RELEASE_SQL = """
UPDATE stock_item SET status = 'IN_STOCK', listing_id = NULL, updated_at = now()
WHERE listing_id = ANY($1::text[]) AND status = 'LISTED'
RETURNING id, external_id, sku, size, size_type, status, unit_cost, currency, variant_id,
          listing_id, order_number, landed_cost, cost_missing, variant_status
"""


@dataclass(frozen=True, slots=True)
class StockUnit:
    """One unit of a purchase (or of an adopted listing, whose cost is unknown)."""

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
    vat_amount: Decimal = Decimal(0)
    vat_rate_pct: Decimal = Decimal(0)
    inbound_cost: Decimal = Decimal(0)
    other_cost: Decimal = Decimal(0)
    landed_cost: Decimal | None = None
    cost_missing: bool = False
    variant_id: str | None = None
    listing_id: str | None = None
    #: `soleflip.common.matching.code_keys(sku)`: what the catalog copy is matched on.
    sku_keys: tuple[str, ...] = ()
    variant_status: str = "pending"


async def insert_units(conn: Conn, units: Sequence[StockUnit]) -> list[asyncpg.Record]:
    """Insert the units not seen before; returns them as written (`select_stock`'s columns)."""
    if not units:
        return []
    return list(await conn.fetch(INSERT_UNITS_SQL, _encoder.encode(list(units)).decode()))


async def vat_reclaimable(conn: Conn) -> bool:
    """The seller's setting: is the VAT of a purchase refunded (so not part of the cost)?"""
    return bool(await conn.fetchval(VAT_RECLAIMABLE_SQL))


async def set_vat_reclaimable(conn: Conn, value: bool) -> bool:
    """Store the setting; True when it changed."""
    return await conn.fetchval(SET_VAT_RECLAIMABLE_SQL, value) is not None


async def vat_units(conn: Conn) -> list[asyncpg.Record]:
    return list(await conn.fetch(VAT_UNITS_SQL))


async def set_landed_costs(conn: Conn, costs: Sequence[tuple[int, Decimal]]) -> None:
    await conn.executemany(SET_LANDED_COST_SQL, costs)


async def select_stock(conn: Conn, ids: Sequence[int]) -> list[asyncpg.Record]:
    return list(await conn.fetch(SELECT_STOCK_SQL, list(ids)))


async def lock_stock_item(conn: Conn, stock_item_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(LOCK_STOCK_ITEM_SQL, stock_item_id)
    return row


async def set_variant(conn: Conn, stock_item_id: int, variant_id: str) -> None:
    await stock_context(conn, reason="variant resolved")
    await conn.execute(SET_VARIANT_SQL, stock_item_id, variant_id)


async def mark_listed(conn: Conn, stock_item_id: int, listing_id: str) -> None:
    await stock_context(conn, reason="listed")
    await conn.execute(MARK_LISTED_SQL, stock_item_id, listing_id)


async def release_units(conn: Conn, listing_ids: Sequence[str]) -> list[asyncpg.Record]:
    """Units whose listing ended without a sale (deleted, cancelled) are back in stock;
    returns them as written."""
    await stock_context(conn, reason="delisted")
    return list(await conn.fetch(RELEASE_SQL, list(listing_ids)))


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


async def set_link_strategy(conn: Conn, strategy: str) -> None:
    """fifo, lifo or specific (the table's CHECK refuses anything else)."""
    await conn.execute(SET_LINK_STRATEGY_SQL, strategy)


async def recorded_external_ids(conn: Conn, external_ids: Sequence[str]) -> set[str]:
    """Which of these purchases are recorded already."""
    rows = await conn.fetch(RECORDED_SQL, list(external_ids))
    return {row["external_id"] for row in rows}
