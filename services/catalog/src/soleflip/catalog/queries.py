"""Read side of the catalog: search, products with variants, lookups by style id, GTIN and size.

Each lookup is one indexed statement (see migrations/0001_catalog.sql), which is what keeps the
size lookup under a millisecond on a 50,000-variant catalog. Retired variants (StockX stopped
listing them) are found by their id only: never by size or GTIN, nor among a product's variants.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from soleflip.catalog.domain import code_keys
from soleflip.common.contracts.catalog import SizeData, VariantData
from soleflip.common.db import Conn

_PRODUCT_COLUMNS = """
    p.id::text AS id, p.stockx_product_id, p.style_id, p.title, p.brand, p.product_type,
    p.gender, p.colorway, p.retail_price, p.retail_currency, p.release_date,
    p.default_size_type, p.last_enriched_at
"""
# The f-strings below only splice the column lists above: no input reaches SQL text.
SEARCH_PRODUCTS_SQL = f"""
SELECT {_PRODUCT_COLUMNS} FROM product p
WHERE ($1::text IS NULL OR p.search @@ to_tsquery('simple', $1))
  AND ($2::text IS NULL OR lower(p.brand) = lower($2))
  AND ($3::text[] IS NULL OR (
        SELECT count(*) FROM style_code s
        WHERE s.product_id = p.id AND s.code_key = ANY($3::text[])) = cardinality($3::text[]))
  AND ($4::text IS NULL OR (p.title, p.id) > ($4::text, $5::uuid))
ORDER BY p.title, p.id
LIMIT $6
"""  # noqa: S608
PRODUCT_BY_ID_SQL = f"SELECT {_PRODUCT_COLUMNS} FROM product p WHERE p.id = $1::uuid"  # noqa: S608
PRODUCT_BY_STOCKX_ID_SQL = (
    f"SELECT {_PRODUCT_COLUMNS} FROM product p WHERE p.stockx_product_id = $1"  # noqa: S608
)
PRODUCTS_BY_CODES_SQL = f"""
SELECT {_PRODUCT_COLUMNS} FROM product p
WHERE p.id IN (
    SELECT s.product_id FROM style_code s WHERE s.code_key = ANY($1::text[])
    GROUP BY s.product_id HAVING count(*) = cardinality($1::text[]))
ORDER BY p.title, p.id
"""  # noqa: S608
_VARIANT_COLUMNS = """
    v.id::text AS id, v.product_id::text AS product_id, v.stockx_variant_id, v.variant_value,
    v.default_size_type, v.retired_at,
    coalesce((SELECT json_agg(json_build_object(
                'type', s.size_type, 'value', s.size_value, 'label', s.label)
                ORDER BY s.size_type, s.size_value)
              FROM variant_size s WHERE s.variant_id = v.id), '[]'::json) AS sizes,
    coalesce((SELECT array_agg(g.gtin ORDER BY g.gtin)
              FROM variant_gtin g WHERE g.variant_id = v.id), '{}'::text[]) AS gtins
"""
VARIANTS_OF_PRODUCT_SQL = f"""
SELECT {_VARIANT_COLUMNS} FROM variant v
WHERE v.product_id = $1::uuid AND v.retired_at IS NULL
ORDER BY v.position
"""  # noqa: S608
VARIANT_BY_ID_SQL = f"SELECT {_VARIANT_COLUMNS} FROM variant v WHERE v.id = $1::uuid"  # noqa: S608
VARIANT_BY_GTIN_SQL = f"""
SELECT {_VARIANT_COLUMNS} FROM variant_gtin g JOIN variant v ON v.id = g.variant_id
WHERE g.gtin = $1 AND v.retired_at IS NULL
"""  # noqa: S608
VARIANT_IDS_BY_SIZE_SQL = """
SELECT s.variant_id::text FROM variant_size s JOIN variant v ON v.id = s.variant_id
WHERE s.product_id = $1::uuid AND s.size_type = $2 AND s.size_value = $3
  AND v.retired_at IS NULL
"""
# A product (catalog id first, else StockX id) and its variants of one size, in one round trip:
# no row when there is no such product, one row with a null variant id when it lacks the size.
PRODUCT_VARIANTS_BY_SIZE_SQL = f"""
SELECT p.id::text AS found_product_id, {_VARIANT_COLUMNS}
FROM (SELECT p.id FROM product p WHERE p.id = $1::uuid OR p.stockx_product_id = $2
      ORDER BY p.id = $1::uuid DESC NULLS LAST LIMIT 1) p
LEFT JOIN LATERAL (
    SELECT v.* FROM variant_size s JOIN variant v ON v.id = s.variant_id
    WHERE s.product_id = p.id AND s.size_type = $3 AND s.size_value = $4
      AND v.retired_at IS NULL) v ON true
"""  # noqa: S608
KNOWN_STOCKX_IDS_SQL = "SELECT stockx_product_id FROM product WHERE stockx_product_id = ANY($1)"
STALE_PRODUCTS_SQL = """
SELECT id::text AS id, stockx_product_id, style_id FROM product
WHERE last_enriched_at < now() - $1::interval AND refresh_failures < $3
ORDER BY refresh_failures, last_enriched_at
LIMIT $2
"""
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class VariantView(msgspec.Struct, frozen=True, kw_only=True):
    """A variant as the API shows it: sizes in every system, barcodes."""

    id: str
    product_id: str
    stockx_variant_id: str
    variant_value: str | None
    default_size_type: str | None
    sizes: list[SizeData]
    gtins: list[str]
    #: Set when StockX stopped listing the variant: found by id only, never by size or GTIN.
    retired_at: datetime | None = None

    def as_data(self) -> VariantData:
        return VariantData(
            variant_id=self.id,
            stockx_variant_id=self.stockx_variant_id,
            variant_value=self.variant_value,
            default_size_type=self.default_size_type,
            sizes=self.sizes,
            gtins=self.gtins,
        )


class ProductView(msgspec.Struct, frozen=True, kw_only=True):
    """A product as the API shows it; `variants` only on single-product answers."""

    id: str
    stockx_product_id: str
    style_id: str | None
    title: str
    brand: str | None
    product_type: str | None
    gender: str | None
    colorway: str | None
    retail_price: Decimal | None
    retail_currency: str
    release_date: date | None
    default_size_type: str | None
    last_enriched_at: datetime
    variants: list[VariantView] | None = None


class StaleProduct(msgspec.Struct, frozen=True):
    """A product due for a refresh."""

    id: str
    stockx_product_id: str
    style_id: str | None


def _product(row: Any) -> ProductView:
    return ProductView(**dict(row))


def _variant(row: Any) -> VariantView:
    return msgspec.convert(dict(row), VariantView)


def text_query(text: str) -> str | None:
    """A prefix tsquery from free text: "dunk lo" -> "dunk:* & lo:*" (injection-safe)."""
    tokens = re.findall(r"[0-9a-z]+", text.lower())
    return " & ".join(f"{t}:*" for t in tokens) or None


async def search_products(
    conn: Conn,
    *,
    q: str | None,
    brand: str | None,
    style_id: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[ProductView]:
    """Products in (title, id) order after the keyset cursor `after`."""
    keys = code_keys(style_id) if style_id else None
    title, last_id = after if after else (None, None)
    rows = await conn.fetch(
        SEARCH_PRODUCTS_SQL, text_query(q) if q else None, brand, keys, title, last_id, limit
    )
    return [_product(r) for r in rows]


async def product(conn: Conn, product_id: str) -> ProductView | None:
    """A product by the catalog's id or by its StockX id, with its variants."""
    row = None
    if _UUID.match(product_id):
        row = await conn.fetchrow(PRODUCT_BY_ID_SQL, product_id)
    if row is None:
        row = await conn.fetchrow(PRODUCT_BY_STOCKX_ID_SQL, product_id)
    if row is None:
        return None
    return await with_variants(conn, _product(row))


async def with_variants(conn: Conn, product: ProductView) -> ProductView:
    """`product` (as read without them) with its variants, sizes and GTINs."""
    return msgspec.structs.replace(product, variants=await variants_of(conn, product.id))


async def products_by_sku(conn: Conn, sku: str) -> list[ProductView]:
    """Products carrying every code of `sku` (exact after normalisation)."""
    keys = code_keys(sku)
    if not keys:
        return []
    return [_product(r) for r in await conn.fetch(PRODUCTS_BY_CODES_SQL, keys)]


async def variants_of(conn: Conn, product_id: str) -> list[VariantView]:
    return [_variant(r) for r in await conn.fetch(VARIANTS_OF_PRODUCT_SQL, product_id)]


async def variant(conn: Conn, variant_id: str) -> VariantView | None:
    if not _UUID.match(variant_id):
        return None
    row = await conn.fetchrow(VARIANT_BY_ID_SQL, variant_id)
    return _variant(row) if row else None


async def variant_by_gtin(conn: Conn, gtin: str) -> VariantView | None:
    row = await conn.fetchrow(VARIANT_BY_GTIN_SQL, gtin.strip())
    return _variant(row) if row else None


async def product_variants_by_size(
    conn: Conn, product_id: str, kind: str, value: str
) -> list[VariantView] | None:
    """The variants of a product (catalog or StockX id) carrying the size (type, value): none,
    one or (ambiguous) more; None when there is no such product. One statement."""
    catalog_id = product_id if _UUID.match(product_id) else None
    rows = await conn.fetch(PRODUCT_VARIANTS_BY_SIZE_SQL, catalog_id, product_id, kind, value)
    if not rows:
        return None
    found = {row["id"]: row for row in rows if row["id"] is not None}
    return [_variant(row) for row in found.values()]  # found_product_id is not a view field


async def variant_ids_by_size(conn: Conn, product_id: str, kind: str, value: str) -> list[str]:
    """Every variant of a product carrying the size (type, value): zero, one or (ambiguous) more."""
    rows = await conn.fetch(VARIANT_IDS_BY_SIZE_SQL, product_id, kind, value)
    return [r[0] for r in rows]


async def known_stockx_ids(conn: Conn, stockx_ids: list[str]) -> set[str]:
    return {r[0] for r in await conn.fetch(KNOWN_STOCKX_IDS_SQL, stockx_ids)}


async def stale_products(
    conn: Conn, older_than_s: float, limit: int, max_failures: int
) -> list[StaleProduct]:
    """Products older than `older_than_s` that failed fewer than `max_failures` refreshes in a
    row; those that failed come after the others."""
    rows = await conn.fetch(
        STALE_PRODUCTS_SQL, timedelta(seconds=older_than_s), limit, max_failures
    )
    return [StaleProduct(r["id"], r["stockx_product_id"], r["style_id"]) for r in rows]


# Enrichment jobs.
OPEN_JOBS_SQL = "SELECT id::text FROM enrichment_job WHERE status <> 'done' ORDER BY created_at"
JOB_SQL = """
SELECT j.id::text AS id, j.status, j.source, j.total, j.created_at, j.finished_at,
       count(*) FILTER (WHERE i.status <> 'pending') AS finished,
       count(*) FILTER (WHERE i.status = 'resolved') AS resolved,
       count(*) FILTER (WHERE i.status = 'unresolved') AS unresolved,
       count(*) FILTER (WHERE i.status = 'failed') AS failed
FROM enrichment_job j LEFT JOIN enrichment_item i ON i.job_id = j.id
WHERE j.id = $1::uuid
GROUP BY j.id
"""
#: A page of jobs, newest first; the counts come from each job's own items (primary key).
LIST_JOBS_SQL = """
SELECT j.id::text AS id, j.status, j.source, j.total, j.created_at, j.finished_at, c.*
FROM enrichment_job j
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE i.status <> 'pending') AS finished,
           count(*) FILTER (WHERE i.status = 'resolved') AS resolved,
           count(*) FILTER (WHERE i.status = 'unresolved') AS unresolved,
           count(*) FILTER (WHERE i.status = 'failed') AS failed
    FROM enrichment_item i WHERE i.job_id = j.id
) c
WHERE ($1::text IS NULL OR j.status = $1)
  AND ($2::timestamptz IS NULL OR (j.created_at, j.id) < ($2, $3::uuid))
ORDER BY j.created_at DESC, j.id DESC
LIMIT $4
"""
JOB_ITEMS_SQL = """
SELECT position, sku, status, product_id::text AS product_id, candidates, detail, retries,
       finished_at
FROM enrichment_item WHERE job_id = $1::uuid ORDER BY position
"""
JOB_TOTAL_SQL = "SELECT total FROM enrichment_job WHERE id = $1"
JOB_EXISTS_SQL = "SELECT EXISTS (SELECT 1 FROM enrichment_job WHERE id = $1::uuid)"
FAILED_JOBS_SQL = "SELECT DISTINCT job_id::text FROM enrichment_item WHERE status = 'failed'"
FINISHED_COUNT_SQL = (
    "SELECT count(*) FROM enrichment_item WHERE job_id = $1 AND status <> 'pending'"
)


class JobSummary(msgspec.Struct, frozen=True):
    """An enrichment job with how many of its SKUs are finished, resolved, unresolved, failed."""

    id: str
    status: str
    source: str
    total: int
    created_at: datetime
    finished_at: datetime | None
    finished: int
    resolved: int
    unresolved: int
    failed: int


async def list_jobs(
    conn: Conn, *, status: str | None, after: tuple[datetime, UUID] | None, limit: int
) -> list[JobSummary]:
    """Up to `limit` jobs created before `after` (created_at, id), newest first."""
    at, job_id = after or (None, None)
    rows = await conn.fetch(LIST_JOBS_SQL, status, at, job_id, limit)
    return [JobSummary(**dict(r)) for r in rows]


async def open_jobs(db: Conn | asyncpg.Pool) -> list[str]:
    """Ids of the jobs not done yet, oldest first (`db`: a pool or a connection)."""
    return [r[0] for r in await db.fetch(OPEN_JOBS_SQL)]


async def job_total(db: Conn | asyncpg.Pool, job_id: str) -> int:
    return int(await db.fetchval(JOB_TOTAL_SQL, job_id) or 0)


async def job_exists(db: Conn | asyncpg.Pool, job_id: str) -> bool:
    """Whether the job exists (raises asyncpg.DataError when `job_id` is not a UUID)."""
    return bool(await db.fetchval(JOB_EXISTS_SQL, job_id))


async def jobs_with_failures(db: Conn | asyncpg.Pool) -> list[str]:
    """Ids of the jobs with at least one failed item."""
    return [r[0] for r in await db.fetch(FAILED_JOBS_SQL)]


async def job_finished(db: Conn | asyncpg.Pool, job_id: str) -> int:
    """How many items of the job are finished (resolved, unresolved or failed)."""
    return int(await db.fetchval(FINISHED_COUNT_SQL, job_id) or 0)


async def job_status(conn: Conn, job_id: str) -> dict[str, Any] | None:
    """The job with its counts and per-SKU outcomes, or None."""
    row = await conn.fetchrow(JOB_SQL, job_id)
    if row is None:
        return None
    items = [dict(r) for r in await conn.fetch(JOB_ITEMS_SQL, job_id)]
    return {**dict(row), "items": items}
