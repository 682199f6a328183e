"""Write side of the catalog: brands, products, style codes, variants, sizes, GTINs, events.

Every write runs inside the caller's unit of work, together with the outbox row that announces
it, so a product is stored and published together or not at all. Variants, sizes and GTINs are
written with `unnest` in one statement each: a product has up to ~30 variants and a batch job
stores hundreds of products.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from soleflip.catalog.domain import code_key
from soleflip.catalog.queries import variants_of
from soleflip.common.contracts import new_event, uuid7
from soleflip.common.contracts.catalog import (
    REMAPPED,
    SOURCE,
    UPSERTED,
    ProductData,
    RemapData,
    VariantData,
)
from soleflip.common.db import Conn, enqueue

# DO NOTHING rather than DO UPDATE: an update would lock the brand row until commit and
# serialise every concurrent writer of a product of that brand.
INSERT_BRAND_SQL = """
INSERT INTO brand (name) VALUES ($1)
ON CONFLICT (name) DO NOTHING
RETURNING id
"""
BRAND_ID_SQL = "SELECT id FROM brand WHERE name = $1"
UPSERT_PRODUCT_SQL = """
INSERT INTO product (id, stockx_product_id, style_id, title, brand_id, brand, product_type,
                     gender, colorway, retail_price, release_date, default_size_type,
                     attributes, source_time, last_enriched_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, coalesce($14, now()), now(), now())
ON CONFLICT (stockx_product_id) DO UPDATE SET
    style_id = excluded.style_id, title = excluded.title, brand_id = excluded.brand_id,
    brand = excluded.brand, product_type = excluded.product_type, gender = excluded.gender,
    colorway = excluded.colorway, retail_price = excluded.retail_price,
    release_date = excluded.release_date,
    default_size_type = coalesce(excluded.default_size_type, product.default_size_type),
    attributes = excluded.attributes, source_time = excluded.source_time,
    last_enriched_at = now(), updated_at = now(), version = product.version + 1
WHERE product.source_time IS NULL OR excluded.source_time >= product.source_time
RETURNING id, updated_at
"""
TOUCH_PRODUCT_SQL = "UPDATE product SET last_enriched_at = now() WHERE id = $1"
MISSING_PRODUCT_SQL = """
UPDATE product SET stockx_missing_since = coalesce(stockx_missing_since, now()) WHERE id = $1
"""
REFRESH_FAILED_SQL = """
UPDATE product
SET refresh_failures = refresh_failures + 1, refresh_failed_at = now(), refresh_error = $2
WHERE id = $1
RETURNING refresh_failures
"""
REFRESH_OK_SQL = """
UPDATE product SET refresh_failures = 0, refresh_error = NULL, stockx_missing_since = NULL
WHERE id = $1
  AND (refresh_failures > 0 OR refresh_error IS NOT NULL OR stockx_missing_since IS NOT NULL)
"""
DELETE_CODES_SQL = "DELETE FROM style_code WHERE product_id = $1"
INSERT_CODES_SQL = """
INSERT INTO style_code (code_key, product_id, code)
SELECT k, $1, c FROM unnest($2::text[], $3::text[]) AS t(k, c)
ON CONFLICT DO NOTHING
"""
UPSERT_VARIANTS_SQL = """
INSERT INTO variant (id, stockx_variant_id, product_id, variant_value, default_size_type,
                     position, updated_at)
SELECT i, s, $1, v, d, p, now()
FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::int[]) AS t(i, s, v, d, p)
ON CONFLICT (stockx_variant_id) DO UPDATE SET
    product_id = excluded.product_id, variant_value = excluded.variant_value,
    default_size_type = excluded.default_size_type, position = excluded.position,
    retired_at = NULL, updated_at = now()
RETURNING id, stockx_variant_id
"""
RETIRE_VARIANTS_SQL = """
UPDATE variant SET retired_at = now(), updated_at = now()
WHERE product_id = $1 AND retired_at IS NULL AND stockx_variant_id <> ALL($2::text[])
"""
DELETE_SIZES_SQL = "DELETE FROM variant_size WHERE variant_id = ANY($1::uuid[])"
INSERT_SIZES_SQL = """
INSERT INTO variant_size (variant_id, product_id, size_type, size_value, label)
SELECT v, $1, t, s, l FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) AS x(v, t, s, l)
ON CONFLICT DO NOTHING
"""
UPSERT_GTINS_SQL = """
INSERT INTO variant_gtin (gtin, variant_id)
SELECT g, v FROM unnest($1::text[], $2::uuid[]) AS t(g, v)
ON CONFLICT (gtin) DO UPDATE SET variant_id = excluded.variant_id
"""
PRODUCT_ID_OF_STOCKX_SQL = "SELECT id FROM product WHERE stockx_product_id = $1"
REMAP_PRODUCT_SQL = "UPDATE product SET stockx_product_id = $2, updated_at = now() WHERE id = $1"
DELETE_PRODUCT_SQL = "DELETE FROM product WHERE id = $1"


async def _brand_id(conn: Conn, brand: str | None) -> int | None:
    if not brand:
        return None
    value: int | None = await conn.fetchval(INSERT_BRAND_SQL, brand)
    if value is None:
        # Someone else's row; a new statement sees it even if it committed during our insert.
        value = await conn.fetchval(BRAND_ID_SQL, brand)
    return value


async def _write_product(
    conn: Conn,
    data: ProductData,
    attributes: dict[str, Any],
    default_size_type: str | None,
    source_time: datetime | None,
) -> Any:
    return await conn.fetchrow(
        UPSERT_PRODUCT_SQL,
        uuid7(),
        data.stockx_product_id,
        data.style_id,
        data.title,
        await _brand_id(conn, data.brand),
        data.brand,
        data.product_type,
        data.gender,
        data.colorway,
        data.retail_price,
        data.release_date,
        default_size_type,
        attributes,
        source_time,
    )


async def _write_codes(conn: Conn, product_id: str, codes: list[str]) -> None:
    await conn.execute(DELETE_CODES_SQL, product_id)
    await conn.execute(INSERT_CODES_SQL, product_id, [code_key(c) for c in codes], codes)


async def _write_variants(
    conn: Conn, product_id: str, variants: list[VariantData]
) -> list[VariantData]:
    rows = await conn.fetch(
        UPSERT_VARIANTS_SQL,
        product_id,
        [uuid7() for _ in variants],
        [v.stockx_variant_id for v in variants],
        [v.variant_value for v in variants],
        [v.default_size_type for v in variants],
        list(range(len(variants))),
    )
    ids = {r["stockx_variant_id"]: str(r["id"]) for r in rows}
    stored = [msgspec.structs.replace(v, variant_id=ids[v.stockx_variant_id]) for v in variants]
    await conn.execute(DELETE_SIZES_SQL, list(ids.values()))
    sizes = [(v.variant_id, s) for v in stored for s in v.sizes]
    await conn.execute(
        INSERT_SIZES_SQL,
        product_id,
        [vid for vid, _ in sizes],
        [s.type for _, s in sizes],
        [s.value for _, s in sizes],
        [s.label for _, s in sizes],
    )
    gtins = [(g, v.variant_id) for v in stored for g in v.gtins]
    await conn.execute(UPSERT_GTINS_SQL, [g for g, _ in gtins], [vid for _, vid in gtins])
    return stored


async def upsert_product(
    conn: Conn,
    data: ProductData,
    *,
    attributes: dict[str, Any],
    default_size_type: str | None = None,
    with_variants: bool = True,
    retire_missing: bool = False,
    source_time: datetime | None = None,
) -> ProductData | None:
    """Store a product (and, `with_variants`, all its variants); enqueue `catalog.product.upserted`.

    `retire_missing` says the variants are StockX's full list: stored ones missing from it are
    retired. Returns the data as stored, with the catalog's own product and variant ids; None
    when the stored snapshot is newer than `source_time` (now when not given): nothing is
    written then.
    """
    row = await _write_product(conn, data, attributes, default_size_type, source_time)
    if row is None:
        return None
    product_id, updated_at = str(row["id"]), row["updated_at"]
    await _write_codes(conn, product_id, data.style_codes)
    variants = await _write_variants(conn, product_id, data.variants) if with_variants else []
    # An empty list from StockX is more likely a glitch than a product without sizes.
    if with_variants and retire_missing and data.variants:
        await retire_variants(conn, product_id, [v.stockx_variant_id for v in data.variants])
    stored = msgspec.structs.replace(
        data, product_id=product_id, variants=variants, updated_at=updated_at
    )
    if not with_variants:
        stored = msgspec.structs.replace(stored, variants=await stored_variants(conn, product_id))
    await publish_upserted(conn, stored)
    return stored


async def retire_variants(conn: Conn, product_id: str, listed: list[str]) -> None:
    """Retire the product's live variants whose StockX ids are not in `listed`."""
    await conn.execute(RETIRE_VARIANTS_SQL, product_id, listed)


async def product_id_of(conn: Conn, stockx_product_id: str) -> str | None:
    """The catalog's id of the product stored under a StockX id."""
    found = await conn.fetchval(PRODUCT_ID_OF_STOCKX_SQL, stockx_product_id)
    return str(found) if found is not None else None


async def stored_variants(conn: Conn, product_id: str) -> list[VariantData]:
    """The variants the catalog holds for a product (for events that do not carry them)."""
    return [v.as_data() for v in await variants_of(conn, product_id)]


async def publish_upserted(conn: Conn, data: ProductData) -> None:
    event = new_event(UPSERTED, msgspec.to_builtins(data), source=SOURCE, subject=data.product_id)
    await enqueue(conn, UPSERTED, event)


async def touch_product(conn: Conn, product_id: str) -> None:
    """Mark a product fresh without a change (nothing to publish)."""
    await conn.execute(TOUCH_PRODUCT_SQL, product_id)


async def mark_missing(conn: Conn, product_id: str) -> None:
    """Flag a product StockX answers 404 for (and whose style id finds nothing), from when."""
    await conn.execute(MISSING_PRODUCT_SQL, product_id)


async def record_refresh_failure(conn: Conn, product_id: str, error: str) -> int:
    """Count one failed refresh of the product; the failures in a row so far."""
    return int(await conn.fetchval(REFRESH_FAILED_SQL, product_id, error) or 0)


async def clear_refresh_failures(conn: Conn, product_id: str) -> None:
    """A refresh went through: the product's failure count and missing flag start over."""
    await conn.execute(REFRESH_OK_SQL, product_id)


async def remap_product(
    conn: Conn, product_id: str, old_id: str, new_id: str, style_id: str | None
) -> None:
    """Point a product at its new StockX id and announce it with `catalog.product.remapped`.

    When the new id is already stored as another row (found by a search meanwhile), that row
    wins and this one goes: its variants move over on the next upsert, since variant ids do not
    change with a product's id.
    """
    existing = await conn.fetchval(PRODUCT_ID_OF_STOCKX_SQL, new_id)
    if existing is not None and str(existing) != product_id:
        await conn.execute(DELETE_PRODUCT_SQL, product_id)
        product_id = str(existing)
    else:
        await conn.execute(REMAP_PRODUCT_SQL, product_id, new_id)
    data = RemapData(
        product_id=product_id,
        old_stockx_product_id=old_id,
        new_stockx_product_id=new_id,
        style_id=style_id,
    )
    event = new_event(REMAPPED, msgspec.to_builtins(data), source=SOURCE, subject=product_id)
    await enqueue(conn, REMAPPED, event)
