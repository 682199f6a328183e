"""Read SQL behind the KPI reports (`/api/v1/reports/*`): inventory by state and age, sales by
period or group, and the orders the seller must ship. Each is one aggregate over indexed columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from soleflip.common.db import Conn

#: Units the seller holds (in hand or listed): what ages and ties up money.
HELD_STATUSES = ("IN_STOCK", "LISTED")
#: Orders the seller must still ship (StockX's ship-by date applies).
TO_SHIP_STATUSES = ("CREATED",)
#: Age buckets in days, inclusive upper bounds; the last is open.
AGE_BUCKETS = ((30, "0-30"), (90, "31-90"), (180, "91-180"), (None, ">180"))

# $1 from, $2 to (purchase time), $3 currency
INVENTORY_BY_STATUS_SQL = """
SELECT status, currency, count(*) AS units, coalesce(sum(landed_cost), 0) AS value,
       count(*) FILTER (WHERE cost_missing OR landed_cost IS NULL) AS cost_missing
FROM stock_item
WHERE ($1::timestamptz IS NULL OR purchased_at >= $1)
  AND ($2::timestamptz IS NULL OR purchased_at < $2)
  AND ($3::text IS NULL OR currency = $3)
GROUP BY 1, 2
ORDER BY 1, 2
"""
# $4 now, $5 held statuses; the age is whole days since purchase.
INVENTORY_AGING_SQL = """
SELECT CASE WHEN age <= 30 THEN 0 WHEN age <= 90 THEN 1 WHEN age <= 180 THEN 2 ELSE 3 END
           AS bucket,
       currency, count(*) AS units, coalesce(sum(landed_cost), 0) AS value
FROM (
    SELECT floor(extract(epoch FROM ($4::timestamptz - purchased_at)) / 86400) AS age,
           currency, landed_cost
    FROM stock_item
    WHERE status = ANY($5::text[])
      AND ($1::timestamptz IS NULL OR purchased_at >= $1)
      AND ($2::timestamptz IS NULL OR purchased_at < $2)
      AND ($3::text IS NULL OR currency = $3)
) held
GROUP BY 1, 2
ORDER BY 1, 2
"""
#: group_by → the key expression over `sales` (constant SQL, never user text).
SALES_KEYS = {
    "day": "(date_trunc('day', created_at, 'UTC') AT TIME ZONE 'UTC')::date::text",
    "week": "(date_trunc('week', created_at, 'UTC') AT TIME ZONE 'UTC')::date::text",
    "month": "(date_trunc('month', created_at, 'UTC') AT TIME ZONE 'UTC')::date::text",
    "product": "product_id",
    "size": "size_type || ' ' || size",
    "supplier": "supplier",
}
# $1 from, $2 to (sale time), $3 currency, $4 statuses that are no sale.
SALES_SQL = """
WITH sales AS (
    SELECT o.created_at, o.currency, o.amount, o.net_proceeds, o.landed_cost, o.profit,
           o.cancellation_fee, o.product_id, s.size, s.size_type, s.supplier, s.purchased_at,
           o.status <> ALL($4::text[]) AS sale
    FROM "order" o
    LEFT JOIN stock_item s ON s.id = o.stock_item_id
    WHERE o.created_at >= $1 AND o.created_at < $2 AND ($3::text IS NULL OR o.currency = $3)
)
SELECT {key} AS key, currency,
       count(*) FILTER (WHERE sale) AS sales,
       coalesce(sum(amount) FILTER (WHERE sale), 0) AS revenue,
       coalesce(sum(net_proceeds) FILTER (WHERE sale), 0) AS net_proceeds,
       coalesce(sum(landed_cost) FILTER (WHERE sale AND profit IS NOT NULL), 0) AS landed_cost,
       coalesce(sum(profit) FILTER (WHERE sale), 0) AS sales_profit,
       count(*) FILTER (WHERE NOT sale) AS cancellations,
       coalesce(sum(cancellation_fee) FILTER (WHERE NOT sale), 0) AS cancellation_charges,
       -- float seconds: numeric extract() costs more than the rest of the row
       round((avg(date_part('epoch', created_at - purchased_at) / 86400)
              FILTER (WHERE sale AND purchased_at IS NOT NULL))::numeric, 1) AS avg_days_to_sell,
       count(*) FILTER (WHERE sale AND profit IS NULL) AS without_profit
FROM sales
GROUP BY 1, 2
ORDER BY 1 NULLS LAST, 2
"""
# Units sold in the window and units held now, for the sell-through rate.
SELL_THROUGH_SQL = """
SELECT (SELECT count(*) FROM "order"
        WHERE created_at >= $1 AND created_at < $2 AND stock_item_id IS NOT NULL
          AND status <> ALL($4::text[]) AND ($3::text IS NULL OR currency = $3)) AS sold,
       (SELECT count(*) FROM stock_item
        WHERE status = ANY($5::text[]) AND ($3::text IS NULL OR currency = $3)) AS held
"""
# Soonest ship-by first (none: last); cursor ($2, $3) = the last row's (ship_by, order_number).
TO_SHIP_SQL = """
SELECT * FROM (
    SELECT o.order_number, o.status, (o.shipment ->> 'shipByDate')::timestamptz AS ship_by,
           o.listing_id, o.stock_item_id, o.variant_id, o.product_id, o.amount, o.currency,
           o.created_at, s.sku, s.size, s.size_type
    FROM "order" o
    LEFT JOIN stock_item s ON s.id = o.stock_item_id
    WHERE o.status = ANY($1::text[])
) due
WHERE ($2::text IS NULL
       OR (coalesce(ship_by, 'infinity'), order_number) > ($2::text::timestamptz, $3::text))
ORDER BY coalesce(ship_by, 'infinity'), order_number
LIMIT $4
"""


async def inventory_by_status(
    conn: Conn, *, start: datetime | None, end: datetime | None, currency: str | None
) -> list[asyncpg.Record]:
    return list(await conn.fetch(INVENTORY_BY_STATUS_SQL, start, end, currency))


async def inventory_aging(
    conn: Conn,
    *,
    start: datetime | None,
    end: datetime | None,
    currency: str | None,
    now: datetime,
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(INVENTORY_AGING_SQL, start, end, currency, now, list(HELD_STATUSES))
    )


async def sales_report(
    conn: Conn,
    *,
    group_by: str,
    start: datetime,
    end: datetime,
    currency: str | None,
    no_sale: Sequence[str],
) -> list[asyncpg.Record]:
    sql = SALES_SQL.format(key=SALES_KEYS[group_by])
    return list(await conn.fetch(sql, start, end, currency, list(no_sale)))


async def sell_through(
    conn: Conn, *, start: datetime, end: datetime, currency: str | None, no_sale: Sequence[str]
) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        SELL_THROUGH_SQL, start, end, currency, list(no_sale), list(HELD_STATUSES)
    )
    if row is None:  # an aggregate of scalar subqueries always answers one row
        raise RuntimeError("sell-through query returned no row")
    return row


async def orders_to_ship(
    conn: Conn, *, after: tuple[str, str] | None, limit: int
) -> list[asyncpg.Record]:
    after_at, after_number = after if after else (None, None)
    return list(
        await conn.fetch(TO_SHIP_SQL, list(TO_SHIP_STATUSES), after_at, after_number, limit)
    )
