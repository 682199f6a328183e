"""Read SQL of suppliers: the list, one supplier, and what was bought from and sold of each."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from soleflip.common.db import Conn
from soleflip.orders.queries._reports import day_tiers

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
# currency) and sales in the window (by sale time, in the sale's currency) of its units, from
# migration 0018's summary: whole UTC days [$1, $2) (either NULL: open) from its rows, the
# partial days [$4, $5) and [$6, $7) from single units and sales. $3 currency. The supplier
# key 0 stands for "none" (a unit without a supplier).
SUPPLIER_STATS_SQL = """
WITH parts AS (
    SELECT supplier_id AS key, currency, units_bought, spend, cost_missing, units_sold,
           revenue, profit, sold_cost, without_profit, days_sum
    FROM supplier_summary
    WHERE ($1::date IS NULL OR day >= $1) AND ($2::date IS NULL OR day < $2)
      AND ($3::text IS NULL OR currency = $3)
    UNION ALL
    SELECT coalesce(supplier_id, 0), currency, 1, coalesce(landed_cost, 0),
           (cost_missing OR landed_cost IS NULL)::int, 0, 0, 0, 0, 0, 0
    FROM stock_item
    WHERE ((purchased_at >= $4 AND purchased_at < $5) OR (purchased_at >= $6 AND purchased_at < $7))
      AND ($3::text IS NULL OR currency = $3)
    UNION ALL
    SELECT coalesce(supplier_id, 0), currency, 0, 0, 0, 1, revenue, sales_profit, landed_cost,
           without_profit, sold_days
    FROM sales_fact
    WHERE sold_linked = 1
      AND ((sold_at >= $4 AND sold_at < $5) OR (sold_at >= $6 AND sold_at < $7))
      AND ($3::text IS NULL OR currency = $3)
), totals AS (
    SELECT key, currency, sum(units_bought)::bigint AS units_bought, sum(spend) AS spend,
           sum(cost_missing)::bigint AS cost_missing, sum(units_sold)::bigint AS units_sold,
           sum(revenue) AS revenue, sum(profit) AS profit, sum(sold_cost) AS sold_cost,
           sum(without_profit)::bigint AS without_profit,
           round(sum(days_sum)::numeric / nullif(sum(units_sold), 0), 2) AS avg_days_to_sell
    FROM parts
    GROUP BY 1, 2
    HAVING sum(units_bought) > 0 OR sum(units_sold) > 0
)
SELECT p.id AS supplier_id, p.name, p.kind, t.currency, t.units_bought, t.spend, t.cost_missing,
       t.units_sold, t.revenue, t.profit, t.sold_cost, t.without_profit, t.avg_days_to_sell
FROM totals t
LEFT JOIN supplier p ON p.id = t.key
ORDER BY p.name NULLS LAST, p.id, t.currency
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
) -> list[asyncpg.Record]:
    d0, d1, t0, t1 = day_tiers(start, end)
    return list(await conn.fetch(SUPPLIER_STATS_SQL, d0, d1, currency, start, t0, t1, end))
