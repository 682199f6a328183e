"""Read SQL the pollers use to spend as few StockX calls as the stored data allows."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from soleflip.common.db import Conn
from soleflip.orders.domain import HISTORY_STATUSES, TERMINAL_LISTING_STATUSES

# Orders we hold as active that the active list no longer shows moved to history: their
# creation date bounds how far back history must be read.
VANISHED_SINCE_SQL = """
SELECT min(created_at)::date FROM "order"
WHERE status <> ALL($1::text[]) AND order_number <> ALL($2::text[])
"""
NEWEST_CREATED_SQL = 'SELECT max(created_at)::date FROM "order"'
# A payout is expected on every order still in progress; a shipment (with its label) matters
# only while the seller still has to ship.
NEEDS_DETAIL_SQL = """
SELECT order_number FROM "order"
WHERE (payout IS NULL AND status <> ALL($1::text[]))
   OR (shipment IS NULL AND status = 'CREATED')
ORDER BY order_number
LIMIT $2
"""
UNSEEN_LISTINGS_SQL = """
SELECT listing_id FROM listing
WHERE status <> ALL($1::text[]) AND listing_id <> ALL($2::text[])
ORDER BY listing_id
LIMIT $3
"""


async def vanished_since(conn: Conn, active_seen: Collection[str]) -> date | None:
    """The oldest creation date of orders we hold as active but StockX no longer lists so."""
    value: date | None = await conn.fetchval(
        VANISHED_SINCE_SQL, list(HISTORY_STATUSES), list(active_seen)
    )
    return value


async def newest_created(conn: Conn) -> date | None:
    value: date | None = await conn.fetchval(NEWEST_CREATED_SQL)
    return value


async def orders_needing_detail(conn: Conn, limit: int) -> list[str]:
    rows = await conn.fetch(NEEDS_DETAIL_SQL, list(HISTORY_STATUSES), limit)
    return [row["order_number"] for row in rows]


async def unseen_listings(conn: Conn, seen: Collection[str], limit: int) -> list[str]:
    """Listings not final here that neither listing page showed (deleted on StockX, or ours
    still being created): only these need a single-listing call."""
    rows = await conn.fetch(UNSEEN_LISTINGS_SQL, list(TERMINAL_LISTING_STATUSES), list(seen), limit)
    return [row["listing_id"] for row in rows]
