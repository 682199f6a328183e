"""Write SQL of variant resolution: orders' copy of the catalog, and units matched against it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import msgspec

from soleflip.common.db import Conn

_encoder = msgspec.json.Encoder()

DELETE_PRODUCT_SIZES_SQL = "DELETE FROM catalog_size WHERE stockx_product_id = $1"
UPSERT_PRODUCT_SQL = """
INSERT INTO catalog_product
    (stockx_product_id, style_keys, title, brand, style_id, colorway, image_url, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (stockx_product_id) DO UPDATE SET
    style_keys = excluded.style_keys, title = excluded.title, brand = excluded.brand,
    style_id = excluded.style_id, colorway = excluded.colorway,
    image_url = excluded.image_url, updated_at = excluded.updated_at
"""
DELETE_PRODUCT_VARIANTS_SQL = "DELETE FROM catalog_variant WHERE stockx_product_id = $1"
# A variant moved to another product (a StockX remap) follows its latest product event.
UPSERT_VARIANTS_SQL = """
INSERT INTO catalog_variant (stockx_variant_id, stockx_product_id, size_type, size_value)
SELECT v, $1, t, s FROM unnest($2::text[], $3::text[], $4::text[]) AS x(v, t, s)
ON CONFLICT (stockx_variant_id) DO UPDATE SET
    stockx_product_id = excluded.stockx_product_id, size_type = excluded.size_type,
    size_value = excluded.size_value
"""
INSERT_SIZES_SQL = """
INSERT INTO catalog_size (stockx_product_id, stockx_variant_id, size_type, size_value)
SELECT $1, v, t, s FROM unnest($2::text[], $3::text[], $4::text[]) AS x(v, t, s)
ON CONFLICT DO NOTHING
"""
# Units still without a variant: all of `ids`, or those whose codes a product with `keys` has.
OPEN_UNITS_SQL = """
SELECT id, sku_keys, size, size_type FROM stock_item
WHERE variant_status <> 'resolved' AND variant_id IS NULL
  AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))
  AND ($2::text[] IS NULL OR (sku_keys <@ $2::text[] AND sku_keys <> '{}'))
ORDER BY id
LIMIT $3
"""
# Every variant of every product carrying all the unit's codes, in the unit's size.
MATCH_SQL = """
SELECT u.id, array_agg(DISTINCT cs.stockx_variant_id ORDER BY cs.stockx_variant_id) AS variants
FROM json_to_recordset($1::text::json) AS u(id bigint, keys text[], st text, sv text)
JOIN catalog_product p ON p.style_keys @> u.keys AND cardinality(u.keys) > 0
JOIN catalog_size cs ON cs.stockx_product_id = p.stockx_product_id
                    AND cs.size_type = u.st AND cs.size_value = u.sv
GROUP BY u.id
"""
SET_VARIANTS_SQL = """
UPDATE stock_item s SET variant_id = t.variant_id, variant_status = t.status, updated_at = now()
FROM json_to_recordset($1::text::json) AS t(id bigint, variant_id text, status text)
WHERE s.id = t.id AND s.variant_id IS NULL
  AND (s.variant_status, s.variant_id) IS DISTINCT FROM (t.status, t.variant_id)
RETURNING s.id, s.external_id, s.sku, s.size, s.size_type, s.status, s.unit_cost, s.currency,
          s.variant_id, s.listing_id, s.order_number, s.landed_cost, s.cost_missing,
          s.variant_status
"""
# Pending units not announced for a while; touching updated_at spaces the announcements.
TOUCH_PENDING_SQL = """
UPDATE stock_item SET updated_at = now()
WHERE id IN (
    SELECT id FROM stock_item
    WHERE variant_status = 'pending' AND variant_id IS NULL
      AND updated_at < now() - make_interval(secs => $1)
    ORDER BY updated_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING id, external_id, sku, size, size_type, status, unit_cost, currency, variant_id,
          listing_id, order_number, landed_cost, cost_missing, variant_status
"""
# One transaction at a time per style key: a purchase and a product event of the same codes,
# committed at the same moment, would each miss the other's row under READ COMMITTED (the unit
# stays pending). Taken in key order, so two holders of overlapping keys cannot deadlock.
LOCK_KEYS_SQL = """
SELECT pg_advisory_xact_lock(hashtextextended('orders.style_key:' || k, 0))
FROM (SELECT DISTINCT k FROM unnest($1::text[]) AS k ORDER BY k) AS keys
"""
UNMATCHED_SALES_SQL = """
SELECT order_number FROM "order"
WHERE stock_item_id IS NULL AND NOT link_manual AND variant_id = ANY($1::text[])
  AND status <> ALL($2::text[])
ORDER BY created_at, order_number
"""


@dataclass(frozen=True, slots=True)
class ProductCopy:
    """What orders keeps of a catalog product: its keys, its text and its variants' sizes."""

    stockx_product_id: str
    keys: Sequence[str]
    sizes: Sequence[tuple[str, str, str]]
    #: (StockX variant id, default size type, size value) per variant.
    variants: Sequence[tuple[str, str | None, str | None]] = ()
    title: str | None = None
    brand: str | None = None
    style_id: str | None = None
    colorway: str | None = None
    image_url: str | None = None
    updated_at: datetime | None = None


async def store_product(conn: Conn, copy: ProductCopy) -> None:
    """Replace the copy of one product: keys, text, variants and (variant, type, value) rows."""
    product_id = copy.stockx_product_id
    await conn.execute(
        UPSERT_PRODUCT_SQL,
        product_id,
        list(copy.keys),
        copy.title,
        copy.brand,
        copy.style_id,
        copy.colorway,
        copy.image_url,
        copy.updated_at,
    )
    await conn.execute(DELETE_PRODUCT_SIZES_SQL, product_id)
    if copy.sizes:
        columns = [list(c) for c in zip(*copy.sizes, strict=True)]
        await conn.execute(INSERT_SIZES_SQL, product_id, *columns)
    await conn.execute(DELETE_PRODUCT_VARIANTS_SQL, product_id)
    if copy.variants:
        ids, types, values = (list(c) for c in zip(*copy.variants, strict=True))
        await conn.execute(UPSERT_VARIANTS_SQL, product_id, ids, types, values)


async def lock_style_keys(conn: Conn, keys: Sequence[str]) -> None:
    """Wait for, then hold until commit, the resolution locks of these style keys."""
    if keys:
        await conn.execute(LOCK_KEYS_SQL, list(keys))


async def open_units(
    conn: Conn, *, ids: Sequence[int] | None, keys: Sequence[str] | None, limit: int
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            OPEN_UNITS_SQL,
            None if ids is None else list(ids),
            None if keys is None else list(keys),
            limit,
        )
    )


async def match_variants(
    conn: Conn, wanted: Sequence[tuple[int, list[str], str, str]]
) -> dict[int, list[str]]:
    """Per unit id, the variant ids its (codes, size type, size value) fit."""
    rows = [{"id": i, "keys": k, "st": t, "sv": v} for i, k, t, v in wanted]
    found = await conn.fetch(MATCH_SQL, _encoder.encode(rows).decode())
    return {row["id"]: list(row["variants"]) for row in found}


async def set_variants(
    conn: Conn, outcomes: Sequence[tuple[int, str | None, str]]
) -> list[asyncpg.Record]:
    """Store (id, variant id, status) for units still without a variant; returns the units
    changed as written (`select_stock`'s columns), by id."""
    rows = [{"id": i, "variant_id": v, "status": s} for i, v, s in outcomes]
    changed = await conn.fetch(SET_VARIANTS_SQL, _encoder.encode(rows).decode())
    return sorted(changed, key=lambda row: int(row["id"]))


async def unmatched_sales(
    conn: Conn, variant_ids: Sequence[str], unsold: Sequence[str]
) -> list[str]:
    """Sales of these variants with no unit yet (oldest first), not fixed by hand."""
    rows = await conn.fetch(UNMATCHED_SALES_SQL, list(variant_ids), list(unsold))
    return [row["order_number"] for row in rows]


async def touch_pending(conn: Conn, *, older_than_s: float, limit: int) -> list[asyncpg.Record]:
    """Mark pending units announced again; returns them as written (the columns of
    `select_stock`), by id."""
    rows = await conn.fetch(TOUCH_PENDING_SQL, older_than_s, limit)
    return sorted(rows, key=lambda row: row["id"])
