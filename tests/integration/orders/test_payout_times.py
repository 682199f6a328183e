"""The payout dates an order row stores (migration 0021) against real Postgres: they follow its
status history whatever order the entries arrive in, repeated and later entries change nothing,
the migration fills them for the history written before it, and the pending list reads them
through its index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from soleflip.orders.domain import (
    AUTHENTICATED_STATUSES,
    PAID_STATUSES,
    PAYOUT_AFTER_AUTH_DAYS,
    PAYOUT_AFTER_SALE_DAYS,
)
from soleflip.orders.queries._payouts import PENDING_SQL
from tests.integration.orders.support import migrate_orders, migrate_orders_before

SALE = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # the end of March: a DST change in Europe
INSERT_ORDER = """
INSERT INTO "order" (order_number, status, status_rank, created_at, updated_at)
VALUES ($1, $2, 1, $3, $3)
"""
INSERT_HISTORY = """
INSERT INTO order_status_history (order_number, status, changed_at, source)
SELECT n, s, t, 'poll' FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS h (n, s, t)
ON CONFLICT (order_number, status, changed_at) DO NOTHING
"""
STORED = """
SELECT order_number, authenticated_at, payout_received_at, payout_expected_at
FROM "order" ORDER BY order_number
"""


def _at(hours: int) -> datetime:
    return SALE + timedelta(hours=hours)


async def _connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, server_settings={"search_path": "orders"})


async def _history(conn: asyncpg.Connection, *entries: tuple[str, str, int]) -> None:
    """One statement of history entries (order, status, hours after the sale)."""
    numbers, statuses, times = zip(*entries, strict=True)
    await conn.execute(INSERT_HISTORY, list(numbers), list(statuses), [_at(h) for h in times])


async def _expected(conn: asyncpg.Connection) -> list[tuple[str, object, object, object]]:
    """What docs/payouts.md says each order's dates are, from its status and whole history."""
    orders = await conn.fetch('SELECT order_number, status, created_at FROM "order"')
    history = await conn.fetch("SELECT order_number, status, changed_at FROM order_status_history")
    rows = []
    for order in sorted(orders, key=lambda o: o["order_number"]):
        mine = [h for h in history if h["order_number"] == order["order_number"]]
        authenticated = min(
            (h["changed_at"] for h in mine if h["status"] in AUTHENTICATED_STATUSES), default=None
        )
        paid = min((h["changed_at"] for h in mine if h["status"] in PAID_STATUSES), default=None)
        if order["status"] in PAID_STATUSES:
            expected = None
        elif authenticated is not None:
            expected = authenticated + timedelta(days=PAYOUT_AFTER_AUTH_DAYS)
        else:
            expected = order["created_at"] + timedelta(days=PAYOUT_AFTER_SALE_DAYS)
        rows.append((order["order_number"], authenticated, paid, expected))
    return rows


async def _stored(conn: asyncpg.Connection) -> list[tuple[str, object, object, object]]:
    return [tuple(r) for r in await conn.fetch(STORED)]


async def test_stored_times_follow_history_out_of_order_and_repeated(orders_dsn: str) -> None:
    conn = await _connect(orders_dsn)
    try:
        await conn.execute("SET TIME ZONE 'Europe/Berlin'")  # the days are UTC days anyway
        for number, status in (("A", "AUTHENTICATED"), ("B", "COMPLETED"), ("C", "SHIPPED")):
            await conn.execute(INSERT_ORDER, number, status, SALE)
        assert await _stored(conn) == await _expected(conn)  # no history: sale + 10 days

        await _history(conn, ("A", "SHIPPED", 20), ("A", "AUTHENTICATED", 90))
        await _history(conn, ("A", "PAYOUTPENDING", 70), ("B", "COMPLETED", 200))  # earlier
        await _history(conn, ("A", "AUTHENTICATED", 150), ("A", "AUTHENTICATED", 90))  # again
        await _history(conn, ("B", "PAYOUTCOMPLETED", 180), ("B", "PAYOUTCOMPLETED", 190))
        await _history(conn, ("C", "CREATED", 0), ("C", "SHIPPED", 5))
        stored = await _stored(conn)
        assert stored == await _expected(conn)
        assert stored[0][1:] == (_at(70), None, _at(70) + timedelta(days=2))
        assert stored[1][1:] == (None, _at(180), None)
        assert stored[2][1:] == (None, None, SALE + timedelta(days=10))

        # An entry that was the first one corrected or removed: the next one is the first.
        await conn.execute("DELETE FROM order_status_history WHERE status = 'PAYOUTPENDING'")
        await conn.execute(
            "UPDATE order_status_history SET changed_at = changed_at + interval '1 hour'"
            " WHERE order_number = 'B' AND changed_at = $1",
            _at(180),
        )
        stored = await _stored(conn)
        assert stored == await _expected(conn)
        assert (stored[0][1], stored[1][2]) == (_at(90), _at(181))

        # The status moving on recomputes the expected date from the stored times.
        status = 'UPDATE "order" SET status = $2 WHERE order_number = $1'
        await conn.execute(status, "A", "PAYOUTCOMPLETED")
        await conn.execute(status, "B", "AUTHENTICATED")
        assert await _stored(conn) == await _expected(conn)
    finally:
        await conn.close()


async def test_the_migration_fills_the_times_of_history_written_before_it(
    fresh_database: str, tmp_path: Path
) -> None:
    await migrate_orders_before(fresh_database, "0021", tmp_path)
    conn = await _connect(fresh_database)
    try:
        for number, status in (("A", "PAYOUTPENDING"), ("B", "COMPLETED"), ("C", "CREATED")):
            await conn.execute(INSERT_ORDER, number, status, SALE)
        await _history(conn, ("A", "AUTHENTICATED", 50), ("A", "PAYOUTPENDING", 40))
        await _history(conn, ("B", "AUTHENTICATED", 30), ("B", "COMPLETED", 60))
        await _history(conn, ("B", "PAYOUTCOMPLETED", 70), ("C", "CREATED", 0))
        await migrate_orders(fresh_database)
        stored = await _stored(conn)
        assert stored == await _expected(conn)
        assert [s[1:3] for s in stored] == [(_at(40), None), (_at(30), _at(60)), (None, None)]
    finally:
        await conn.close()


async def test_the_pending_list_reads_its_partial_index_in_order(orders_dsn: str) -> None:
    conn = await _connect(orders_dsn)
    try:
        await conn.execute("SET enable_seqscan = off")
        await conn.execute("SET enable_sort = off")
        for params in ((None, None, 50), (SALE, "A", 50)):
            plan = "\n".join(
                r[0] for r in await conn.fetch(f"EXPLAIN {PENDING_SQL}", *params)
            )  # the planner proves the list's filter implies the index's predicate
            assert "order_payout_pending" in plan, plan
            assert "Sort" not in plan, plan
    finally:
        await conn.close()
