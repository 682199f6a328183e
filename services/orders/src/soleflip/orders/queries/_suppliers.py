"""Read SQL of suppliers: the list, one supplier, and what was bought from and sold of each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from soleflip.common.db import Conn

LIST_SUPPLIERS_SQL = """
SELECT p.id, p.name, p.kind, p.notes, p.created_at, p.updated_at,
       (SELECT count(*) FROM stock_item s WHERE s.supplier_id = p.id) AS units
FROM supplier p
WHERE ($1::text IS NULL OR p.kind = $1)
  AND ($2::bigint IS NULL OR p.id > $2)
ORDER BY p.id
LIMIT $3
"""
GET_SUPPLIER_SQL = """
SELECT p.id, p.name, p.kind, p.notes, p.created_at, p.updated_at,
       (SELECT count(*) FROM stock_item s WHERE s.supplier_id = p.id) AS units
FROM supplier p WHERE p.id = $1
"""
# Per supplier and currency: units bought in the window (by purchase time, in the unit's
# currency) and sales in the window (by sale time, in the sale's currency) of its units.
# $1 from, $2 to (either NULL: open), $3 currency, $4 statuses that are no sale.
# The supplier key 0 stands for "none" (a unit without a supplier): FULL JOIN needs `=`.
SUPPLIER_STATS_SQL = """
WITH bought AS (
    SELECT coalesce(supplier_id, 0) AS key, currency, count(*) AS units_bought,
           coalesce(sum(landed_cost), 0) AS spend,
           count(*) FILTER (WHERE cost_missing OR landed_cost IS NULL) AS cost_missing
    FROM stock_item
    WHERE ($1::timestamptz IS NULL OR purchased_at >= $1)
      AND ($2::timestamptz IS NULL OR purchased_at < $2)
      AND ($3::text IS NULL OR currency = $3)
    GROUP BY 1, 2
), sold AS (
    SELECT coalesce(s.supplier_id, 0) AS key, o.currency, count(*) AS units_sold,
           coalesce(sum(o.amount), 0) AS revenue,
           coalesce(sum(o.profit) FILTER (WHERE o.profit IS NOT NULL), 0) AS profit,
           coalesce(sum(o.landed_cost) FILTER (WHERE o.profit IS NOT NULL), 0) AS sold_cost,
           count(*) FILTER (WHERE o.profit IS NULL) AS without_profit,
           avg((o.created_at AT TIME ZONE 'UTC')::date
               - (s.purchased_at AT TIME ZONE 'UTC')::date) AS avg_days_to_sell
    FROM "order" o
    JOIN stock_item s ON s.id = o.stock_item_id
    WHERE o.status <> ALL($4::text[])
      AND ($1::timestamptz IS NULL OR o.created_at >= $1)
      AND ($2::timestamptz IS NULL OR o.created_at < $2)
      AND ($3::text IS NULL OR o.currency = $3)
    GROUP BY 1, 2
)
SELECT p.id AS supplier_id, p.name, p.kind, coalesce(b.currency, x.currency) AS currency,
       coalesce(b.units_bought, 0) AS units_bought, coalesce(b.spend, 0) AS spend,
       coalesce(b.cost_missing, 0) AS cost_missing, coalesce(x.units_sold, 0) AS units_sold,
       coalesce(x.revenue, 0) AS revenue, coalesce(x.profit, 0) AS profit,
       coalesce(x.sold_cost, 0) AS sold_cost, coalesce(x.without_profit, 0) AS without_profit,
       round(x.avg_days_to_sell, 2) AS avg_days_to_sell
FROM bought b
FULL JOIN sold x ON x.key = b.key AND x.currency = b.currency
LEFT JOIN supplier p ON p.id = coalesce(b.key, x.key)
ORDER BY p.name NULLS LAST, p.id, 4
"""


async def list_suppliers(
    conn: Conn, *, kind: str | None, after: int | None, limit: int
) -> list[asyncpg.Record]:
    return list(await conn.fetch(LIST_SUPPLIERS_SQL, kind, after, limit))


async def get_supplier(conn: Conn, supplier_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(GET_SUPPLIER_SQL, supplier_id)
    return row


async def supplier_stats(
    conn: Conn,
    *,
    start: datetime | None,
    end: datetime | None,
    currency: str | None,
    no_sale: Sequence[str],
) -> list[asyncpg.Record]:
    return list(await conn.fetch(SUPPLIER_STATS_SQL, start, end, currency, list(no_sale)))
