"""Read SQL the pollers use to spend as few StockX calls as the stored data allows.

Every per-item question skips what StockX answered 404 for `$max_tries` times already.
"""

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
  AND stockx_missing_tries < $3
"""
NEWEST_CREATED_SQL = 'SELECT max(created_at)::date FROM "order"'
# Held as active, shown by neither the active list nor the history read after it, plus orders a
# listing names that we do not hold: only a single-order call can tell what became of them.
UNSEEN_ORDERS_SQL = """
(SELECT order_number FROM "order"
 WHERE status <> ALL($1::text[]) AND order_number <> ALL($2::text[])
   AND stockx_missing_tries < $3
 ORDER BY order_number LIMIT $4)
UNION
(SELECT DISTINCT l.order_number FROM listing l
 WHERE l.order_number IS NOT NULL AND l.order_number <> ALL($2::text[])
   AND l.order_number <> ALL($5::text[])
   AND NOT EXISTS (SELECT 1 FROM "order" o WHERE o.order_number = l.order_number)
 ORDER BY l.order_number LIMIT $4)
"""
# The detail carries what list pages lack (shipment, tracking; payout while in progress): read
# once per status while something is missing; orders that must still ship come first.
NEEDS_DETAIL_SQL = """
SELECT order_number FROM "order"
WHERE detail_status IS DISTINCT FROM status
  AND (shipment IS NULL OR (payout IS NULL AND status <> ALL($1::text[])))
  AND stockx_missing_tries < $2
ORDER BY status = 'CREATED' DESC, updated_at DESC, order_number
LIMIT $3
"""
# Listings not final here that no list page of this poll showed; those last seen in the expired
# list count only when this poll read it (they are hidden from the default list).
UNSEEN_LISTINGS_SQL = """
SELECT listing_id FROM listing
WHERE status <> ALL($1::text[]) AND listing_id <> ALL($2::text[])
  AND stockx_missing_tries < $3 AND (NOT stockx_expired OR $4)
ORDER BY listing_id
LIMIT $5
"""


async def vanished_since(conn: Conn, active_seen: Collection[str], max_tries: int) -> date | None:
    """The oldest creation date of orders we hold as active but StockX no longer lists so."""
    value: date | None = await conn.fetchval(
        VANISHED_SINCE_SQL, list(HISTORY_STATUSES), list(active_seen), max_tries
    )
    return value


async def newest_created(conn: Conn) -> date | None:
    value: date | None = await conn.fetchval(NEWEST_CREATED_SQL)
    return value


async def unseen_orders(
    conn: Conn, seen: Collection[str], max_tries: int, limit: int, given_up: Collection[str] = ()
) -> list[str]:
    """Orders to ask for one by one; `given_up`: numbers only a listing names that StockX
    answered 404 for `max_tries` times (they have no row to count on)."""
    rows = await conn.fetch(
        UNSEEN_ORDERS_SQL, list(HISTORY_STATUSES), list(seen), max_tries, limit, list(given_up)
    )
    return sorted(row["order_number"] for row in rows)[:limit]


async def orders_needing_detail(conn: Conn, max_tries: int, limit: int) -> list[str]:
    rows = await conn.fetch(NEEDS_DETAIL_SQL, list(HISTORY_STATUSES), max_tries, limit)
    return [row["order_number"] for row in rows]


async def unseen_listings(
    conn: Conn, seen: Collection[str], *, expired_read: bool, max_tries: int, limit: int
) -> list[str]:
    """Listings not final here that no page showed (deleted on StockX, finished since, or ours
    still being created): only these need a single-listing call."""
    rows = await conn.fetch(
        UNSEEN_LISTINGS_SQL,
        list(TERMINAL_LISTING_STATUSES),
        list(seen),
        max_tries,
        expired_read,
        limit,
    )
    return [row["listing_id"] for row in rows]
