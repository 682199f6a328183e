"""Read SQL of pricing: evaluation context, market views, rules, fees and recommendations."""

from __future__ import annotations

from typing import Any

import msgspec

from soleflip.common.db import Conn
from soleflip.pricing.domain import AutoReprice, FeeSchedule, Rule

#: Active listings with what evaluating them needs: scope, landed cost and market.
#: `$1` / `$2` restrict to variants / listings (NULL: all).
EVALUATION_CONTEXT_SQL = """
SELECT l.listing_id, l.variant_id, l.currency, l.amount, l.stock_item_id, l.last_reprice_at,
       l.pending_amount, l.halted_reason, l.rec_price, l.rec_status,
       v.brand, v.style_id,
       coalesce(s.unit_cost, s2.unit_cost) AS cost,
       coalesce(s.currency, s2.currency) AS cost_currency,
       coalesce(s.stock_item_id, s2.stock_item_id) AS cost_item,
       m.lowest_ask, m.highest_bid, m.sell_faster, m.earn_more
FROM listing l
LEFT JOIN variant v ON v.variant_id = l.variant_id
LEFT JOIN stock_item s ON s.stock_item_id = l.stock_item_id
LEFT JOIN LATERAL (
    SELECT unit_cost, currency, stock_item_id FROM stock_item
    WHERE listing_id = l.listing_id ORDER BY stock_item_id LIMIT 1
) s2 ON l.stock_item_id IS NULL
LEFT JOIN market_latest m ON m.variant_id = l.variant_id AND m.currency = l.currency
WHERE l.status = 'ACTIVE' AND l.variant_id IS NOT NULL AND l.currency IS NOT NULL
  AND ($1::text[] IS NULL OR l.variant_id = ANY($1))
  AND ($2::text[] IS NULL OR l.listing_id = ANY($2))
ORDER BY l.listing_id
"""
RULES_SQL = "SELECT id::text AS id, body, version FROM rule ORDER BY priority, id"
RULE_SQL = "SELECT id::text AS id, body, version FROM rule WHERE id = $1"
FEE_SCHEDULES_SQL = "SELECT schedule FROM fee_schedule ORDER BY effective_from, id"
AUTOREPRICE_SQL = "SELECT enabled, dry_run FROM autoreprice"
MARKET_LATEST_SQL = """
SELECT variant_id, currency, product_id, lowest_ask, highest_bid, sell_faster, earn_more,
       observed_at
FROM market_latest WHERE variant_id = $1 AND ($2::text IS NULL OR currency = $2)
ORDER BY currency
"""
MARKET_BY_PRODUCT_SQL = """
SELECT variant_id, currency, product_id, lowest_ask, highest_bid, sell_faster, earn_more,
       observed_at
FROM market_latest WHERE product_id = $1 AND ($2::text IS NULL OR currency = $2)
ORDER BY variant_id, currency
"""
MARKET_HISTORY_SQL = """
SELECT variant_id, currency, product_id, lowest_ask, highest_bid, sell_faster, earn_more,
       observed_at
FROM market_snapshot WHERE variant_id = $1
ORDER BY observed_at DESC, id DESC LIMIT $2
"""
SALES_SQL = """
SELECT order_number, amount, currency, sold_at FROM sale_price
WHERE variant_id = $1 ORDER BY sold_at DESC LIMIT $2
"""
LATEST_MARKETS_SQL = """
SELECT variant_id, currency, lowest_ask, highest_bid, sell_faster, earn_more
FROM market_latest m
WHERE (variant_id, currency) IN (SELECT * FROM unnest($1::text[], $2::text[]))
"""
LISTING_SQL = """
SELECT listing_id, amount, pending_amount, pending_since FROM listing WHERE listing_id = $1
"""
RECOMMENDATIONS_SQL = """
SELECT id::text AS id, listing_id, variant_id, rule_id::text AS rule_id, strategy, currency,
       price, current, floor, payout, profit, status, reason, created_at, inputs
FROM recommendation
WHERE ($1::text IS NULL OR listing_id = $1) AND ($2::text IS NULL OR variant_id = $2)
  AND ($3::text IS NULL OR status = $3)
  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $6
"""
#: Products worth watching, by their best tier: listed (an active listing) > stocked (unsold
#: stock) > tracked (known from catalog or seen in market data).
TRACKED_PRODUCTS_SQL = """
WITH tiers AS (
    SELECT variant_id, 2 AS tier FROM listing WHERE status = 'ACTIVE' AND variant_id IS NOT NULL
    UNION ALL
    SELECT variant_id, 1 FROM stock_item WHERE status = 'IN_STOCK' AND variant_id IS NOT NULL
    UNION ALL
    SELECT variant_id, 0 FROM variant
    UNION ALL
    SELECT variant_id, 0 FROM market_latest
)
SELECT coalesce(v.product_id, m.product_id) AS product_id, max(t.tier) AS tier
FROM tiers t
LEFT JOIN variant v ON v.variant_id = t.variant_id
LEFT JOIN LATERAL (
    SELECT product_id FROM market_latest WHERE variant_id = t.variant_id AND product_id IS NOT NULL
    LIMIT 1
) m ON v.product_id IS NULL
WHERE coalesce(v.product_id, m.product_id) IS NOT NULL
GROUP BY 1
"""
LISTING_CURRENCIES_SQL = """
SELECT DISTINCT currency FROM listing WHERE status = 'ACTIVE' AND currency IS NOT NULL
"""


async def load_rules(conn: Conn) -> list[Rule]:
    rows = await conn.fetch(RULES_SQL)
    return [rule_from_row(row) for row in rows]


def rule_from_row(row: Any) -> Rule:
    return msgspec.convert({**row["body"], "id": row["id"]}, Rule, strict=False)


async def load_fee_schedules(conn: Conn) -> list[FeeSchedule]:
    rows = await conn.fetch(FEE_SCHEDULES_SQL)
    return [msgspec.convert(row["schedule"], FeeSchedule, strict=False) for row in rows]


async def load_autoreprice(conn: Conn) -> AutoReprice:
    row = await conn.fetchrow(AUTOREPRICE_SQL)
    return AutoReprice() if row is None else AutoReprice(enabled=row[0], dry_run=row[1])
