"""Read SQL behind the REST API: keyset-paginated lists, single rows and profit totals."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from soleflip.common.db import Conn
from soleflip.orders.queries._payouts import payout_columns

#: The sale date: the day whose FX rate converts its figures (UTC).
SALE_DAY = "(coalesce(created_at, updated_at) AT TIME ZONE 'UTC')::date"
#: A pending unit's product by its style codes, when exactly one product carries them all.
_PRODUCT_OF_CODES = """(SELECT min(p.stockx_product_id) FROM catalog_product p
     WHERE stock_item.variant_id IS NULL AND stock_item.sku_keys <> '{}'
       AND p.style_keys @> stock_item.sku_keys HAVING count(*) = 1)"""


def readable(table: str) -> str:
    """The product and size a row of `table` names, from orders' copy of the catalog (read at
    query time, so a row stored before its product's catalog event shows it once it arrives):
    `product_title, brand, style_id, colorway, image_url, variant_size_type, variant_size`.
    Until the copy knows the product, an order or listing shows what StockX's payload said of
    it (migration 0019: product name, style id, variant value); a unit its SKU as style id."""
    title, size = "NULL::text", "NULL::text"
    if table == "stock_item":
        product, style = f"coalesce(cv.stockx_product_id, {_PRODUCT_OF_CODES})", "stock_item.sku"
    else:
        product = f"coalesce(cv.stockx_product_id, {table}.product_id)"
        title, style = f"{table}.product_name", f"{table}.style_id"
        size = f"{table}.variant_value"
    return f"""
LEFT JOIN LATERAL (
    SELECT coalesce(cp.title, {title}) AS product_title, cp.brand,
           coalesce(cp.style_id, {style}) AS style_id,
           cp.colorway, cp.image_url, cv.size_type AS variant_size_type,
           coalesce(cv.size_value, {size}) AS variant_size
    FROM (SELECT 1) AS one
    LEFT JOIN catalog_variant cv ON cv.stockx_variant_id = {table}.variant_id
    LEFT JOIN catalog_product cp ON cp.stockx_product_id = {product}
) AS readable ON true"""  # noqa: S608 - constant SQL chosen by table


#: The readable columns `readable()` joins, as the select lists name them.
READABLE_COLUMNS = (
    "readable.product_title, readable.brand, readable.style_id, readable.colorway, "
    "readable.image_url, readable.variant_size_type, readable.variant_size"
)


def _order_columns(base: str) -> str:
    """The order columns plus its profit in the base currency (`base`: the SQL parameter)."""
    return f"""
order_number, status, listing_id, stock_item_id, variant_id, product_id, amount, currency,
inventory_type, payout, shipment, transaction_fee, processing_fee, shipping_fee, net_proceeds,
fees_source, landed_cost, profit, roi, created_at, updated_at, stockx_missing_since,
fx_status, fx_rate_date,
{base}::text AS base_currency, fx_to(profit, currency, {base}::text, {SALE_DAY}) AS profit_base,
{payout_columns()}, {READABLE_COLUMNS}
"""


# Newest first; the cursor is the (created_at, order_number) of the last row of the page.
# `{{columns}}`: the select list (the page's, or an export's CSV cells).
_LIST_ORDERS = f"""
SELECT {{columns}} FROM "order" {readable('"order"')}
WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
  AND ($2::timestamptz IS NULL OR created_at >= $2)
  AND ($3::timestamptz IS NULL OR created_at < $3)
  AND ($4::bool IS NULL OR (stock_item_id IS NULL) = $4)
  AND ($5::timestamptz IS NULL OR (created_at, order_number) < ($5, $6::text))
ORDER BY created_at DESC, order_number DESC
LIMIT $7
"""  # noqa: S608 - the interpolated part is a constant column list
LIST_ORDERS_SQL = _LIST_ORDERS.replace("{columns}", _order_columns("$8"))
GET_ORDER_SQL = f"""
SELECT {_order_columns("$2")} FROM "order" {readable('"order"')} WHERE order_number = $1
"""  # noqa: S608 - the interpolated parts are constant SQL
HISTORY_SQL = """
SELECT status, lag(status) OVER (ORDER BY changed_at, id) AS previous_status, changed_at,
       source
FROM order_status_history
WHERE order_number = $1 ORDER BY changed_at, id
"""
LISTING_COLUMNS = f"""
listing_id, status, variant_id, product_id, stock_item_id, amount, currency, inventory_type,
expires_at, order_number, created_at, updated_at, last_operation_id, {READABLE_COLUMNS}
"""
_LIST_LISTINGS = f"""
SELECT {{columns}} FROM listing {readable("listing")}
WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
  AND ($2::text IS NULL OR listing_id > $2)
ORDER BY listing_id
LIMIT $3
"""  # noqa: S608 - the interpolated parts are constant SQL
LIST_LISTINGS_SQL = _LIST_LISTINGS.replace("{columns}", LISTING_COLUMNS)
GET_LISTING_SQL = f"""
SELECT {LISTING_COLUMNS} FROM listing {readable("listing")} WHERE listing_id = $1
"""  # noqa: S608 - the interpolated parts are constant SQL
STOCK_COLUMNS = f"""
id, external_id, unit, sku, size, size_type, variant_id, unit_cost, inbound_cost, currency,
supplier, purchased_at, status, listing_id, order_number, location, condition, notes,
created_at, updated_at, vat_amount, vat_rate_pct, other_cost, landed_cost, cost_missing,
variant_status, supplier_id, {READABLE_COLUMNS}
"""
STOCK_BY_IDS_SQL = f"""
SELECT {STOCK_COLUMNS} FROM stock_item {readable("stock_item")}
WHERE id = ANY($1::bigint[]) ORDER BY id
"""  # noqa: S608 - the interpolated part is a constant column list
STOCK_HISTORY_SQL = """
SELECT status, previous_status, changes, source, actor, reason, changed_at
FROM stock_history WHERE stock_item_id = $1 ORDER BY id
"""
STOCK_SETTINGS_SQL = "SELECT vat_reclaimable, link_strategy FROM stock_settings"
LISTING_OPERATIONS_SQL = """
SELECT operation_id, kind, status, error, created_at, settled_at FROM listing_operation
WHERE listing_id = $1 ORDER BY created_at DESC LIMIT 10
"""
_LIST_STOCK = f"""
SELECT {{columns}} FROM stock_item {readable("stock_item")}
WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
  AND ($2::text IS NULL OR upper(sku) = upper($2))
  AND ($3::text IS NULL OR lower(supplier) = lower($3))
  AND ($4::timestamptz IS NULL OR purchased_at >= $4)
  AND ($5::timestamptz IS NULL OR purchased_at < $5)
  AND ($6::bigint IS NULL OR id > $6)
  AND ($8::bigint IS NULL OR supplier_id = $8)
ORDER BY id
LIMIT $7
"""  # noqa: S608 - the interpolated part is a constant column list
LIST_STOCK_SQL = _LIST_STOCK.replace("{columns}", STOCK_COLUMNS)
# Realised figures only: orders that reached payout or completion with a linked unit.
# `profit_base` sums the profit converted to the base currency ($5) at each sale's date;
# `fx_missing` counts sales whose profit (or its conversion) waits for an FX rate.
PROFIT_SQL = f"""
SELECT date_trunc($1, created_at) AS period, currency,
       count(*) FILTER (WHERE status <> ALL($4::text[])) AS orders,
       sum(amount) FILTER (WHERE status <> ALL($4::text[])) AS revenue,
       sum(net_proceeds) FILTER (WHERE status <> ALL($4::text[])) AS net_proceeds,
       sum(landed_cost) AS landed_cost,
       sum(profit) AS profit,
       sum(fx_to(profit, currency, $5::text, {SALE_DAY})) AS profit_base,
       $5::text AS base_currency,
       count(*) FILTER (WHERE fx_status = 'fx_missing' OR (profit IS NOT NULL
                        AND fx_to(profit, currency, $5::text, {SALE_DAY}) IS NULL)) AS fx_missing,
       sum(cancellation_fee) AS cancellation_fees,
       count(*) FILTER (WHERE stock_item_id IS NULL AND status <> ALL($4::text[])) AS unmatched
FROM "order"
WHERE created_at >= $2 AND created_at < $3
  -- Sales, plus failed sales that cost a cancellation charge (their profit is minus the charge).
  AND (status <> ALL($4::text[]) OR cancellation_fee IS NOT NULL)
GROUP BY 1, 2
ORDER BY 1, 2
"""  # noqa: S608 - the interpolated part is a constant expression


async def list_orders(
    conn: Conn,
    *,
    statuses: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    unmatched: bool | None,
    after: tuple[datetime, str] | None,
    limit: int,
    base_currency: str,
) -> list[asyncpg.Record]:
    after_at, after_number = after if after else (None, None)
    return list(
        await conn.fetch(
            LIST_ORDERS_SQL,
            list(statuses) if statuses else None,
            since,
            until,
            unmatched,
            after_at,
            after_number,
            limit,
            base_currency,
        )
    )


#: Hands each chunk of a COPY's output on (asyncpg's `copy_from_query` output).
Output = Callable[[bytes], Coroutine[Any, Any, None]]


async def export_orders(
    conn: Conn,
    columns: str,
    output: Output,
    *,
    statuses: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    unmatched: bool | None,
) -> None:
    """Every order the list's filters select, as CSV lines of the select list `columns`
    (constant SQL), rendered by Postgres in the list's order."""
    sql = _LIST_ORDERS.replace("{columns}", columns)
    args = (list(statuses) if statuses else None, since, until, unmatched, None, None, None)
    await conn.copy_from_query(sql, *args, output=output, format="csv")


async def export_listings(
    conn: Conn, columns: str, output: Output, *, statuses: Sequence[str] | None
) -> None:
    sql = _LIST_LISTINGS.replace("{columns}", columns)
    args = (list(statuses) if statuses else None, None, None)
    await conn.copy_from_query(sql, *args, output=output, format="csv")


async def get_order(
    conn: Conn, order_number: str, base_currency: str = "EUR"
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(GET_ORDER_SQL, order_number, base_currency)
    return row


async def order_history(conn: Conn, order_number: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(HISTORY_SQL, order_number))


async def list_listings(
    conn: Conn, *, statuses: Sequence[str] | None, after: str | None, limit: int
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(LIST_LISTINGS_SQL, list(statuses) if statuses else None, after, limit)
    )


async def listing_operations(conn: Conn, listing_id: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(LISTING_OPERATIONS_SQL, listing_id))


@dataclass(frozen=True, slots=True)
class StockFilter:
    """What `GET /api/v1/stock` narrows to (None: no restriction)."""

    statuses: Sequence[str] | None = None
    sku: str | None = None
    supplier: str | None = None
    purchased_since: datetime | None = None
    purchased_until: datetime | None = None
    supplier_id: int | None = None


async def list_stock(
    conn: Conn, where: StockFilter, *, after: int | None, limit: int
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            LIST_STOCK_SQL,
            list(where.statuses) if where.statuses else None,
            where.sku,
            where.supplier,
            where.purchased_since,
            where.purchased_until,
            after,
            limit,
            where.supplier_id,
        )
    )


async def export_stock(conn: Conn, columns: str, output: Output, where: StockFilter) -> None:
    sql = _LIST_STOCK.replace("{columns}", columns)
    args = (
        list(where.statuses) if where.statuses else None,
        where.sku,
        where.supplier,
        where.purchased_since,
        where.purchased_until,
        None,
        None,
        where.supplier_id,
    )
    await conn.copy_from_query(sql, *args, output=output, format="csv")


async def stock_history(conn: Conn, stock_item_id: int) -> list[asyncpg.Record]:
    return list(await conn.fetch(STOCK_HISTORY_SQL, stock_item_id))


async def profit(
    conn: Conn,
    *,
    unit: str,
    start: datetime,
    end: datetime,
    excluded: Sequence[str],
    base_currency: str = "EUR",
) -> list[asyncpg.Record]:
    return list(await conn.fetch(PROFIT_SQL, unit, start, end, list(excluded), base_currency))


async def get_listing(conn: Conn, listing_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(GET_LISTING_SQL, listing_id)
    return row


async def stock_by_ids(conn: Conn, ids: Sequence[int]) -> list[asyncpg.Record]:
    return list(await conn.fetch(STOCK_BY_IDS_SQL, list(ids)))


async def stock_settings(conn: Conn) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(STOCK_SETTINGS_SQL)
    if row is None:
        raise RuntimeError("stock_settings has no row: migration 0004 inserts it")
    return row
