"""Write SQL of the pollers' own bookkeeping: 404s, read details, expired listings."""

from __future__ import annotations

from collections.abc import Sequence

from soleflip.common.db import Conn

MARK_ORDERS_MISSING_SQL = """
UPDATE "order" SET stockx_missing_since = coalesce(stockx_missing_since, now()),
                   stockx_missing_tries = stockx_missing_tries + 1
WHERE order_number = ANY($1::text[])
RETURNING order_number
"""
MARK_LISTINGS_MISSING_SQL = """
UPDATE listing SET stockx_missing_since = coalesce(stockx_missing_since, now()),
                   stockx_missing_tries = stockx_missing_tries + 1
WHERE listing_id = ANY($1::text[])
"""
CLEAR_ORDERS_MISSING_SQL = """
UPDATE "order" SET stockx_missing_since = NULL, stockx_missing_tries = 0
WHERE order_number = ANY($1::text[]) AND stockx_missing_since IS NOT NULL
"""
# Seen: not missing; expired exactly when the expired list showed it (NULL: a single call,
# which does not say).
LISTINGS_SEEN_SQL = """
UPDATE listing SET stockx_missing_since = NULL, stockx_missing_tries = 0,
                   stockx_expired = coalesce($2, stockx_expired)
WHERE listing_id = ANY($1::text[])
  AND (stockx_missing_since IS NOT NULL
       OR stockx_expired IS DISTINCT FROM coalesce($2, stockx_expired))
"""
DETAIL_READ_SQL = """
UPDATE "order" SET detail_status = status WHERE order_number = ANY($1::text[])
"""


async def mark_orders_missing(conn: Conn, numbers: Sequence[str]) -> set[str]:
    """StockX answered 404 for these orders: flag them and count the try; returns those held."""
    rows = await conn.fetch(MARK_ORDERS_MISSING_SQL, list(numbers))
    return {row["order_number"] for row in rows}


async def mark_listings_missing(conn: Conn, listing_ids: Sequence[str]) -> None:
    await conn.execute(MARK_LISTINGS_MISSING_SQL, list(listing_ids))


async def orders_seen(conn: Conn, numbers: Sequence[str]) -> None:
    """A list page showed these orders: whatever 404 they had is over."""
    await conn.execute(CLEAR_ORDERS_MISSING_SQL, list(numbers))


async def listings_seen(conn: Conn, listing_ids: Sequence[str], *, expired: bool | None) -> None:
    await conn.execute(LISTINGS_SEEN_SQL, list(listing_ids), expired)


async def detail_read(conn: Conn, numbers: Sequence[str]) -> None:
    """The detail of these orders was just applied: not again until their status moves on."""
    await conn.execute(DETAIL_READ_SQL, list(numbers))
