"""The inbox: which events a consumer has already applied, claimed in the handler's transaction.

Claiming in the same transaction as the handler's writes makes the effects exactly-once: a
redelivered event finds its claim and is skipped; a rolled-back handler leaves no claim.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import asyncpg
from asyncpg.pool import PoolConnectionProxy

CLAIM_SQL = """
INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)
ON CONFLICT DO NOTHING
RETURNING event_id
"""
CLAIM_MANY_SQL = """
INSERT INTO inbox (consumer, event_id)
SELECT $1, e FROM unnest($2::text[]) AS e
ON CONFLICT DO NOTHING
RETURNING event_id
"""
SEEN_SQL = "SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2"
PRUNE_INBOX_SQL = "DELETE FROM inbox WHERE received_at < now() - $1::interval"

#: What the db helpers accept: a plain connection or one borrowed from a pool (`uow.conn`).
Conn = asyncpg.Connection | PoolConnectionProxy


async def claim(conn: Conn, consumer: str, event_id: str) -> bool:
    """True the first time `consumer` sees `event_id` (commit with the handler's writes)."""
    return await conn.fetchval(CLAIM_SQL, consumer, event_id) is not None


async def seen(db: Conn | asyncpg.Pool, consumer: str, event_id: str) -> bool:
    """True when `consumer` has already applied `event_id`: a check before expensive work (such
    as StockX calls) done outside the transaction that will `claim` it."""
    return await db.fetchval(SEEN_SQL, consumer, event_id) is not None


async def claim_many(conn: Conn, consumer: str, event_ids: Iterable[str]) -> set[str]:
    """The subset of `event_ids` that `consumer` sees for the first time, in one statement."""
    unique = list(dict.fromkeys(event_ids))
    if not unique:
        return set()
    rows = await conn.fetch(CLAIM_MANY_SQL, consumer, unique)
    return {row["event_id"] for row in rows}


async def prune_inbox(pool: asyncpg.Pool, older_than: timedelta) -> int:
    """Forget claims older than `older_than` (longer than any redelivery window); returns count."""
    status = await pool.execute(PRUNE_INBOX_SQL, older_than)
    return int(status.rsplit(" ", 1)[-1])
