"""Write SQL of orders: batched upserts guarded by version, status history, links and profit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from soleflip.common.db import Conn
from soleflip.orders.domain import (
    NO_SALE_STATUSES,
    RETURNED_ORDER_STATUSES,
    SHIPPED_ORDER_STATUSES,
)
from soleflip.orders.repository._stock import stock_context

#: Batches travel as one JSON parameter that Postgres unpacks (`json_to_recordset`): msgspec
#: encodes a whole batch in C, where asyncpg's array encoders cost an ABC isinstance check per
#: element (18 arrays x 1,000 rows per upsert were ~15 % of the consumer's CPU).
#: `$1::text::json`: the text passes any connection as is (the pool also has a json codec).
_encoder = msgspec.json.Encoder(decimal_format="string")

LOCK_ORDERS_SQL = """
SELECT order_number, status, status_rank, updated_at
FROM "order" WHERE order_number = ANY($1::text[])
ORDER BY order_number
FOR UPDATE
"""
# One statement for a whole batch (the rows as one JSON array). The WHERE clause is the
# never-backwards rule again, so a concurrent writer that got in first (the poller) can never be
# overwritten by an older version; an equal version may only fill in what a list page lacks
# (payout, shipment). It returns what it wrote in the columns an `orders.order.upserted` event
# carries (`SELECT_ORDERS_SQL`'s), as the other writes of orders here do.
UPSERT_ORDERS_SQL = """
INSERT INTO "order" AS o (
    order_number, status, status_rank, listing_id, variant_id, product_id, amount, currency,
    inventory_type, payout, shipment, transaction_fee, processing_fee, shipping_fee,
    net_proceeds, fees_source, cancellation_fee, profit, created_at, updated_at, synced_at,
    product_name, style_id, variant_value)
SELECT order_number, status, status_rank, listing_id, variant_id, product_id, amount, currency,
       inventory_type, payout_json::jsonb, shipment_json::jsonb, transaction_fee, processing_fee,
       shipping_fee, net_proceeds, fees_source, cancellation_fee, -cancellation_fee, created_at,
       updated_at, clock_timestamp(), product_name, style_id, variant_value
FROM json_to_recordset($1::text::json) AS t(
    order_number text, status text, status_rank int, listing_id text, variant_id text,
    product_id text, amount numeric, currency text, inventory_type text, payout_json text,
    shipment_json text, transaction_fee numeric, processing_fee numeric, shipping_fee numeric,
    net_proceeds numeric, fees_source text, cancellation_fee numeric, created_at timestamptz,
    updated_at timestamptz, product_name text, style_id text, variant_value text)
ON CONFLICT (order_number) DO UPDATE SET
    product_name = coalesce(excluded.product_name, o.product_name),
    style_id = coalesce(excluded.style_id, o.style_id),
    variant_value = coalesce(excluded.variant_value, o.variant_value),
    status = excluded.status,
    status_rank = excluded.status_rank,
    listing_id = coalesce(excluded.listing_id, o.listing_id),
    variant_id = coalesce(excluded.variant_id, o.variant_id),
    product_id = coalesce(excluded.product_id, o.product_id),
    amount = coalesce(excluded.amount, o.amount),
    currency = coalesce(excluded.currency, o.currency),
    inventory_type = coalesce(excluded.inventory_type, o.inventory_type),
    payout = coalesce(excluded.payout, o.payout),
    shipment = coalesce(excluded.shipment, o.shipment),
    transaction_fee = CASE WHEN excluded.payout IS NULL AND o.payout IS NOT NULL
                           THEN o.transaction_fee ELSE excluded.transaction_fee END,
    processing_fee = CASE WHEN excluded.payout IS NULL AND o.payout IS NOT NULL
                          THEN o.processing_fee ELSE excluded.processing_fee END,
    shipping_fee = CASE WHEN excluded.payout IS NULL AND o.payout IS NOT NULL
                        THEN o.shipping_fee ELSE excluded.shipping_fee END,
    net_proceeds = CASE WHEN excluded.payout IS NULL AND o.payout IS NOT NULL
                        THEN o.net_proceeds ELSE excluded.net_proceeds END,
    fees_source = CASE WHEN excluded.payout IS NULL AND o.payout IS NOT NULL
                       THEN o.fees_source ELSE excluded.fees_source END,
    -- Once charged, kept (a CANCELED after DIDNOTSHIP is still the seller's failure); the charge
    -- is the profit of a sale that fell through (no proceeds, the unit goes back to stock).
    cancellation_fee = coalesce(excluded.cancellation_fee, o.cancellation_fee),
    profit = CASE WHEN coalesce(excluded.cancellation_fee, o.cancellation_fee) IS NOT NULL
                  THEN -coalesce(excluded.cancellation_fee, o.cancellation_fee)
                  ELSE o.profit END,
    created_at = coalesce(o.created_at, excluded.created_at),
    updated_at = excluded.updated_at,
    -- When this statement wrote the row (not the transaction's start): the benchmark's
    -- webhook-to-row latency reads it.
    synced_at = clock_timestamp()
WHERE (excluded.updated_at, excluded.status_rank) > (o.updated_at, o.status_rank)
   OR ((excluded.updated_at, excluded.status_rank) = (o.updated_at, o.status_rank)
       AND ((o.payout IS NULL AND excluded.payout IS NOT NULL)
            OR (o.shipment IS NULL AND excluded.shipment IS NOT NULL)))
RETURNING o.order_number, o.status, o.listing_id, o.stock_item_id, o.variant_id, o.product_id,
          o.amount, o.currency, o.net_proceeds, o.fees_source, o.landed_cost, o.profit, o.roi,
          o.created_at, o.updated_at
"""
INSERT_HISTORY_SQL = """
INSERT INTO order_status_history (order_number, status, changed_at, source)
SELECT order_number, status, changed_at, source
FROM json_to_recordset($1::text::json)
     AS t(order_number text, status text, changed_at timestamptz, source text)
ON CONFLICT (order_number, status, changed_at) DO NOTHING
"""
# One cheap question before four statements: is there any stock these orders could link to, or
# a linked order whose profit may need recomputing? On the hot path the answer is mostly no.
# The orders are read once (a materialized CTE), not once per question: three lookups of every
# order number were most of its cost.
MAY_LINK_SQL = """
WITH o AS MATERIALIZED (
    SELECT listing_id, variant_id, stock_item_id FROM "order"
    WHERE order_number = ANY($1::text[])
)
SELECT EXISTS (SELECT 1 FROM o WHERE stock_item_id IS NOT NULL)
    OR EXISTS (
           SELECT 1 FROM listing l
           WHERE l.listing_id IN (SELECT listing_id FROM o) AND l.stock_item_id IS NOT NULL)
    OR EXISTS (
           SELECT 1 FROM stock_item s
           WHERE s.variant_id IN (SELECT variant_id FROM o WHERE stock_item_id IS NULL)
             AND s.status IN ('IN_STOCK', 'ORDERED') AND s.order_number IS NULL)
"""
# Sales that fell through give their unit back: it is in stock again (or RETURNED, on its way
# back after a failed authentication), and the order keeps no cost.
RELEASE_UNSOLD_SQL = """
WITH undone AS (
    UPDATE "order" SET stock_item_id = NULL, landed_cost = NULL, profit = -cancellation_fee,
                       roi = NULL
    WHERE order_number = ANY($1::text[]) AND stock_item_id IS NOT NULL
      AND status = ANY($2::text[])
    RETURNING order_number, status
)
UPDATE stock_item s
SET status = CASE WHEN u.status = ANY($3::text[]) THEN 'RETURNED' ELSE 'IN_STOCK' END,
    order_number = NULL, listing_id = NULL, updated_at = now()
FROM undone u
WHERE s.order_number = u.order_number
RETURNING s.id, s.external_id, s.sku, s.size, s.size_type, s.status, s.unit_cost, s.currency,
          s.variant_id, s.listing_id, s.order_number, s.landed_cost, s.cost_missing,
          s.variant_status
"""
LINK_BY_LISTING_SQL = """
UPDATE "order" o SET stock_item_id = l.stock_item_id
FROM listing l
WHERE o.order_number = ANY($1::text[]) AND o.stock_item_id IS NULL AND NOT o.link_manual
  AND o.status <> ALL($2::text[])
  AND l.listing_id = o.listing_id AND l.stock_item_id IS NOT NULL
"""
# A sale whose listing we did not create (listed in the StockX app) takes a free unit of the
# same variant: the oldest purchase (fifo) or the newest (lifo); each unit goes to one order
# (row numbers pair them up per variant).
LINK_BY_VARIANT_SQL = """
WITH wanted AS (
    SELECT order_number, variant_id,
           row_number() OVER (PARTITION BY variant_id ORDER BY created_at, order_number) AS k
    FROM "order"
    WHERE order_number = ANY($1::text[]) AND stock_item_id IS NULL AND variant_id IS NOT NULL
      AND NOT link_manual AND status <> ALL($2::text[])
),
free AS (
    SELECT id, variant_id,
           CASE WHEN $3::text = 'lifo'
                THEN row_number() OVER (PARTITION BY variant_id ORDER BY purchased_at DESC, id DESC)
                ELSE row_number() OVER (PARTITION BY variant_id ORDER BY purchased_at, id)
           END AS k
    FROM stock_item
    WHERE status IN ('IN_STOCK', 'ORDERED') AND order_number IS NULL
      AND variant_id IN (SELECT variant_id FROM wanted)
)
UPDATE "order" o SET stock_item_id = f.id
FROM wanted w JOIN free f USING (variant_id, k)
WHERE o.order_number = w.order_number
"""
LINK_STRATEGY_SQL = "SELECT link_strategy FROM stock_settings"
# A linked sale makes its unit SOLD, and SHIPPED once StockX has the pair.
MARK_SOLD_SQL = """
UPDATE stock_item s
SET status = CASE WHEN o.status = ANY($2::text[]) THEN 'SHIPPED' ELSE 'SOLD' END,
    order_number = o.order_number,
    listing_id = coalesce(s.listing_id, o.listing_id), updated_at = now()
FROM "order" o
WHERE o.order_number = ANY($1::text[]) AND s.id = o.stock_item_id
  AND (s.order_number IS DISTINCT FROM o.order_number
       OR (s.status = 'SOLD' AND o.status = ANY($2::text[])))
RETURNING s.id, s.external_id, s.sku, s.size, s.size_type, s.status, s.unit_cost, s.currency,
          s.variant_id, s.listing_id, s.order_number, s.landed_cost, s.cost_missing,
          s.variant_status
"""
# Profit in the sale's currency: a unit bought in another currency has its landed cost converted
# at the rate of the sale date (fx_cross, migration 0011); without a rate the profit is NULL and
# fx_status says 'fx_missing' (a later rate import reprices it). The unit's landed cost
# (domain.landed_cost) is NULL while its cost is unknown: then so is the profit.
PROFIT_SQL = """
WITH sale AS (
    SELECT o.order_number, o.net_proceeds, s.landed_cost, s.currency = o.currency AS same, x.rate,
           x.rate_date
    FROM "order" o
    JOIN stock_item s ON s.id = o.stock_item_id
    LEFT JOIN LATERAL fx_cross(
        s.currency, o.currency, (coalesce(o.created_at, o.updated_at) AT TIME ZONE 'UTC')::date
    ) x ON s.currency <> o.currency
    WHERE o.order_number = ANY($1::text[]) AND o.net_proceeds IS NOT NULL
),
priced AS (
    SELECT order_number, net_proceeds, rate, rate_date,
           CASE WHEN same THEN landed_cost ELSE round(landed_cost * rate, 2) END AS cost,
           CASE WHEN same THEN NULL WHEN rate IS NULL THEN 'fx_missing' ELSE 'converted' END
               AS fx_status
    FROM sale
)
UPDATE "order" o
SET landed_cost = p.cost,
    profit = p.net_proceeds - p.cost,
    roi = round((p.net_proceeds - p.cost) / nullif(p.cost, 0), 4),
    fx_status = p.fx_status, fx_rate = p.rate, fx_rate_date = p.rate_date
FROM priced p
WHERE o.order_number = p.order_number
RETURNING o.order_number, o.status, o.listing_id, o.stock_item_id, o.variant_id, o.product_id,
          o.amount, o.currency, o.net_proceeds, o.fees_source, o.landed_cost, o.profit, o.roi,
          o.created_at, o.updated_at
"""
LOCK_ORDER_LINK_SQL = """
SELECT order_number, status, stock_item_id FROM "order" WHERE order_number = $1 FOR UPDATE
"""
# A hand-made link replaces the automatic one and is kept (link_manual): the unit it had is
# free again, the profit is recomputed for the new one.
UNLINK_UNIT_SQL = """
UPDATE stock_item s SET status = 'IN_STOCK', order_number = NULL, listing_id = NULL,
                        updated_at = now()
WHERE id = $1 AND order_number = $2
RETURNING s.id, s.external_id, s.sku, s.size, s.size_type, s.status, s.unit_cost, s.currency,
          s.variant_id, s.listing_id, s.order_number, s.landed_cost, s.cost_missing,
          s.variant_status
"""
SET_ORDER_LINK_SQL = """
UPDATE "order" SET stock_item_id = $2, link_manual = true, landed_cost = NULL, roi = NULL,
                   profit = -cancellation_fee
WHERE order_number = $1
"""
# Sales StockX has not paid out yet carry an estimate (or none, when the schedule lacked their
# currency): a new fee schedule re-estimates them, a page at a time in order-number order.
UNPAID_SQL = """
SELECT order_number, amount, currency, created_at, updated_at, net_proceeds, transaction_fee
FROM "order"
WHERE payout IS NULL AND amount IS NOT NULL AND currency IS NOT NULL
  AND fees_source IS DISTINCT FROM 'stockx' AND order_number > $1
ORDER BY order_number
LIMIT $2
"""
SET_ESTIMATES_SQL = """
UPDATE "order" o
SET transaction_fee = t.transaction_fee, processing_fee = t.processing_fee,
    shipping_fee = t.shipping_fee, net_proceeds = t.net_proceeds, fees_source = t.fees_source
FROM json_to_recordset($1::text::json) AS t(
    order_number text, transaction_fee numeric, processing_fee numeric, shipping_fee numeric,
    net_proceeds numeric, fees_source text)
WHERE o.order_number = t.order_number AND o.payout IS NULL
RETURNING o.order_number, o.status, o.listing_id, o.stock_item_id, o.variant_id, o.product_id,
          o.amount, o.currency, o.net_proceeds, o.fees_source, o.landed_cost, o.profit, o.roi,
          o.created_at, o.updated_at
"""
SELECT_ORDERS_SQL = """
SELECT order_number, status, listing_id, stock_item_id, variant_id, product_id, amount, currency,
       net_proceeds, fees_source, landed_cost, profit, roi, created_at, updated_at
FROM "order" WHERE order_number = ANY($1::text[])
ORDER BY order_number
"""


class OrderRow(msgspec.Struct, frozen=True, gc=False):
    """One order version to write (already decided to move forward); a struct, encoded as the
    same JSON object a dataclass was, at a fraction of a frozen dataclass's construction cost
    (one per order of a batch)."""

    order_number: str
    status: str
    status_rank: int
    listing_id: str | None
    variant_id: str | None
    product_id: str | None
    amount: Decimal | None
    currency: str | None
    inventory_type: str | None
    payout_json: str | None
    shipment_json: str | None
    transaction_fee: Decimal | None
    processing_fee: Decimal | None
    shipping_fee: Decimal | None
    net_proceeds: Decimal | None
    fees_source: str | None
    cancellation_fee: Decimal | None
    created_at: datetime | None
    updated_at: datetime
    #: What the payload says of the product and size (the catalog copy wins when it has them).
    product_name: str | None = None
    style_id: str | None = None
    variant_value: str | None = None


class StatusChange(msgspec.Struct, frozen=True, gc=False):
    """One row of `order_status_history` (a struct, like `OrderRow`: one per order of a batch)."""

    order_number: str
    status: str
    changed_at: datetime
    source: str


async def lock_orders(conn: Conn, numbers: Sequence[str]) -> dict[str, asyncpg.Record]:
    """The stored versions of `numbers`, locked for this transaction (in key order: no deadlock)."""
    rows = await conn.fetch(LOCK_ORDERS_SQL, sorted(numbers))
    return {row["order_number"]: row for row in rows}


async def upsert_orders(conn: Conn, rows: Sequence[OrderRow]) -> dict[str, asyncpg.Record]:
    """Write `rows` in one statement; returns the orders actually changed, as written."""
    if not rows:
        return {}
    rows = sorted(rows, key=lambda r: r.order_number)
    written = await conn.fetch(UPSERT_ORDERS_SQL, _encoder.encode(rows).decode())
    return {row["order_number"]: row for row in written}


async def insert_history(conn: Conn, changes: Sequence[StatusChange]) -> None:
    if changes:
        await conn.execute(INSERT_HISTORY_SQL, _encoder.encode(changes).decode())


async def link_and_price(
    conn: Conn, numbers: Sequence[str], source: str, *, reason: str = "sale"
) -> list[asyncpg.Record] | None:
    """Link sales to stock (by listing, then by variant), mark units sold, compute profit.

    `source` (webhook, poll, api) goes into the units' history. Returns the stock items that
    changed status, as they are now (by id), or None when no order here could link or be priced
    (then nothing was written).
    """
    numbers = list(numbers)
    if not await conn.fetchval(MAY_LINK_SQL, numbers):
        return None
    unsold = list(NO_SALE_STATUSES)
    await stock_context(conn, source, reason="sale fell through")
    released = await conn.fetch(RELEASE_UNSOLD_SQL, numbers, unsold, list(RETURNED_ORDER_STATUSES))
    await conn.execute(LINK_BY_LISTING_SQL, numbers, unsold)
    strategy = await conn.fetchval(LINK_STRATEGY_SQL)
    if strategy != "specific":
        await conn.execute(LINK_BY_VARIANT_SQL, numbers, unsold, strategy)
    await stock_context(conn, source, reason=reason)
    sold = await conn.fetch(MARK_SOLD_SQL, numbers, list(SHIPPED_ORDER_STATUSES))
    await conn.execute(PROFIT_SQL, numbers)
    # A unit given back and taken again in one batch was last written by MARK_SOLD.
    return last_written("id", released, sold)


def last_written(key: str, *batches: Sequence[asyncpg.Record]) -> list[asyncpg.Record]:
    """The rows of several statements over the same table, the last one written per `key`,
    in key order (as `select_orders` / `select_stock` would read them back)."""
    rows = {row[key]: row for batch in batches for row in batch}
    return [rows[k] for k in sorted(rows)]


async def reprice_profit(conn: Conn, numbers: Sequence[str]) -> list[asyncpg.Record]:
    """Recompute profit and ROI of linked sales (their unit's landed cost changed); returns
    the sales it repriced (those with a unit and proceeds), as written."""
    return list(await conn.fetch(PROFIT_SQL, list(numbers)))


@dataclass(frozen=True, slots=True)
class Estimate:
    """Re-estimated fees of one unpaid sale (None figures: the schedule lacks its currency)."""

    order_number: str
    transaction_fee: Decimal | None
    processing_fee: Decimal | None
    shipping_fee: Decimal | None
    net_proceeds: Decimal | None
    fees_source: str | None


async def unpaid_orders(conn: Conn, after: str, limit: int) -> list[asyncpg.Record]:
    """Sales without StockX's payout breakdown, after order number `after` (a page)."""
    return list(await conn.fetch(UNPAID_SQL, after, limit))


async def set_estimates(conn: Conn, estimates: Sequence[Estimate]) -> list[asyncpg.Record]:
    """Write new estimates and recompute the profit of linked sales; returns the orders
    changed as they are now (the profit's row where it repriced one), by order number."""
    if not estimates:
        return []
    rows = await conn.fetch(SET_ESTIMATES_SQL, _encoder.encode(estimates).decode())
    numbers = sorted(row["order_number"] for row in rows)
    return last_written("order_number", rows, await conn.fetch(PROFIT_SQL, numbers))


async def select_orders(conn: Conn, numbers: Sequence[str]) -> list[asyncpg.Record]:
    return list(await conn.fetch(SELECT_ORDERS_SQL, list(numbers)))


async def lock_order_link(conn: Conn, order_number: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(LOCK_ORDER_LINK_SQL, order_number)
    return row


async def unlink_unit(conn: Conn, stock_item_id: int, order_number: str) -> list[asyncpg.Record]:
    """Free the unit a sale had; returns it as written (none when it was not the sale's)."""
    return list(await conn.fetch(UNLINK_UNIT_SQL, stock_item_id, order_number))


async def set_order_link(conn: Conn, order_number: str, stock_item_id: int | None) -> None:
    await conn.execute(SET_ORDER_LINK_SQL, order_number, stock_item_id)
