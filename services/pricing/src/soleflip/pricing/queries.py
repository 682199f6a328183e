"""Read SQL of pricing: evaluation context, market views, rules, fees and recommendations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from soleflip.common.db import Conn
from soleflip.pricing.domain import AutoReprice, FeeSchedule, Market, Rule

#: Active listings with what evaluating them needs: scope, landed cost and market.
#: `$1` / `$2` restrict to variants / listings (NULL: all). A listing without a stock item id
#: looks its unit up by listing id; the test sits inside the lateral subquery, where it is a
#: one-time filter, so listings that have one skip the lookup (as a join filter it ran for all).
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
    WHERE l.stock_item_id IS NULL AND listing_id = l.listing_id ORDER BY stock_item_id LIMIT 1
) s2 ON true
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
#: stock) > tracked (known from catalog or seen in market data); not those whose polls failed
#: `$1` times in a row.
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
  AND NOT EXISTS (
      SELECT 1 FROM market_poll_failure f
      WHERE f.product_id = coalesce(v.product_id, m.product_id) AND f.failures >= $1)
GROUP BY 1
"""
LISTING_CURRENCIES_SQL = """
SELECT DISTINCT currency FROM listing WHERE status = 'ACTIVE' AND currency IS NOT NULL
"""


# The row types below are built positionally from their statement's columns (`View(*row)`): a
# statement and its type change together.


class ListingContext(msgspec.Struct, frozen=True):
    """One row of `EVALUATION_CONTEXT_SQL` (fields in its column order): an active listing with
    its scope, landed cost, market and last recommendation."""

    listing_id: str
    variant_id: str
    currency: str
    amount: Decimal | None
    stock_item_id: int | None
    last_reprice_at: datetime | None
    pending_amount: Decimal | None
    halted_reason: str | None
    rec_price: Decimal | None
    rec_status: str | None
    brand: str | None
    style_id: str | None
    cost: Decimal | None
    cost_currency: str | None
    cost_item: int | None
    lowest_ask: Decimal | None
    highest_bid: Decimal | None
    sell_faster: Decimal | None
    earn_more: Decimal | None


class MarketView(msgspec.Struct, frozen=True):
    """One variant's market in one currency, latest or a past change (`MARKET_*_SQL` columns)."""

    variant_id: str
    currency: str
    product_id: str | None
    lowest_ask: Decimal | None
    highest_bid: Decimal | None
    sell_faster: Decimal | None
    earn_more: Decimal | None
    observed_at: datetime


class SaleView(msgspec.Struct, frozen=True):
    """A realised sale price (`SALES_SQL` columns)."""

    order_number: str
    amount: Decimal
    currency: str
    sold_at: datetime


class RecommendationView(msgspec.Struct, frozen=True):
    """A stored recommendation (`RECOMMENDATIONS_SQL` columns)."""

    id: str
    listing_id: str
    variant_id: str
    rule_id: str | None
    strategy: str
    currency: str
    price: Decimal
    current: Decimal | None
    floor: Decimal | None
    payout: Decimal
    profit: Decimal | None
    status: str
    reason: str
    created_at: datetime
    inputs: dict[str, Any] | None


class PendingReprice(msgspec.Struct, frozen=True):
    """A mirrored listing's amount and its reprice in flight (`LISTING_SQL` columns)."""

    listing_id: str
    amount: Decimal | None
    pending_amount: Decimal | None
    pending_since: datetime | None


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


async def load_rule(conn: Conn, rule_id: Any) -> tuple[Rule, int] | None:
    """One rule and its version (the guard of `repository.update_rule`), or None."""
    row = await conn.fetchrow(RULE_SQL, rule_id)
    return None if row is None else (rule_from_row(row), int(row["version"]))


def _market(row: Any) -> Market:
    return Market(
        lowest_ask=row["lowest_ask"],
        highest_bid=row["highest_bid"],
        sell_faster=row["sell_faster"],
        earn_more=row["earn_more"],
    )


async def latest_markets(
    conn: Conn, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Market]:
    """The latest market of each (variant id, currency) that has one."""
    rows = await conn.fetch(LATEST_MARKETS_SQL, [k[0] for k in keys], [k[1] for k in keys])
    return {(r["variant_id"], r["currency"]): _market(r) for r in rows}


async def pending_reprice(conn: Conn, listing_id: str) -> PendingReprice | None:
    """The mirrored listing's amount and pending reprice, or None when we hold no such listing."""
    row = await conn.fetchrow(LISTING_SQL, listing_id)
    return None if row is None else PendingReprice(*row)


async def evaluation_context(
    conn: Conn, variants: Sequence[str] | None, listings: Sequence[str] | None
) -> list[ListingContext]:
    """The active listings of these variants / listings (None: all) with what evaluating them
    needs."""
    rows = await conn.fetch(
        EVALUATION_CONTEXT_SQL,
        None if variants is None else list(variants),
        None if listings is None else list(listings),
    )
    return [ListingContext(*row) for row in rows]


async def variant_market(
    conn: Conn, variant_id: str, currency: str | None, limit: int
) -> tuple[list[MarketView], list[MarketView], list[SaleView]]:
    """A variant's latest market per currency, its recent changes and its realised sales."""
    latest = await conn.fetch(MARKET_LATEST_SQL, variant_id, currency)
    history = await conn.fetch(MARKET_HISTORY_SQL, variant_id, limit)
    sales = await conn.fetch(SALES_SQL, variant_id, limit)
    return (
        [MarketView(*r) for r in latest],
        [MarketView(*r) for r in history],
        [SaleView(*r) for r in sales],
    )


async def product_markets(conn: Conn, product_id: str, currency: str | None) -> list[MarketView]:
    """The latest market of every variant of a product."""
    return [MarketView(*r) for r in await conn.fetch(MARKET_BY_PRODUCT_SQL, product_id, currency)]


async def recommendations(
    conn: Conn,
    *,
    listing_id: str | None,
    variant_id: str | None,
    status: str | None,
    after: tuple[datetime | None, str | None],
    limit: int,
) -> list[RecommendationView]:
    """Recommendations newest first, after the cursor `(created_at, id)`, at most `limit`."""
    rows = await conn.fetch(
        RECOMMENDATIONS_SQL, listing_id, variant_id, status, after[0], after[1], limit
    )
    return [RecommendationView(*r) for r in rows]


async def tracked_products(conn: Conn, max_failures: int) -> list[tuple[str, int]]:
    """Every product worth polling with its best tier (2 listed, 1 stocked, 0 tracked), but
    those whose polls failed `max_failures` times in a row."""
    rows = await conn.fetch(TRACKED_PRODUCTS_SQL, max_failures)
    return [(r["product_id"], r["tier"]) for r in rows]


async def listing_currencies(conn: Conn) -> list[str]:
    """Currencies of the active listings."""
    return [r[0] for r in await conn.fetch(LISTING_CURRENCIES_SQL)]
