"""Pool codecs, unit of work, inbox claims and poll state against a migrated service schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from soleflip.common.db import (
    UnitOfWork,
    check_ready,
    claim,
    claim_many,
    create_pool,
    get_poll_state,
    prune_inbox,
    session_connection,
    set_poll_state,
)
from soleflip.common.testing.db import migrated_pool

FILES = {
    "0001_things.sql": "CREATE TABLE things (id int PRIMARY KEY, doc jsonb);",
    "0002_pairs.sql": "CREATE TABLE pairs (k int UNIQUE DEFERRABLE INITIALLY DEFERRED);",
}


@pytest.fixture
async def pool(fresh_database: str, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_pool(fresh_database, tmp_path, FILES) as pool:
        yield pool


async def count_things(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM things")
    return count


async def test_jsonb_round_trips_through_msgspec_with_decimals_as_strings(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute(
        "INSERT INTO things VALUES (1, $1)", {"amount": Decimal("12.50"), "sizes": [9, 9.5]}
    )

    assert await pool.fetchval("SELECT doc FROM things") == {"amount": "12.50", "sizes": [9, 9.5]}
    assert await pool.fetchval("SELECT doc->>'amount' FROM things") == "12.50"


async def test_pool_search_path_is_the_service_schema(pool: asyncpg.Pool) -> None:
    assert await pool.fetchval("SELECT current_schema()") != "public"
    assert await check_ready(pool)


async def test_check_ready_is_false_when_postgres_is_unreachable() -> None:
    pool = await create_pool("postgresql://postgres@127.0.0.1:1/x", min_size=0)
    try:
        assert not await check_ready(pool, within_s=1.0)
    finally:
        await pool.close()


async def test_unit_of_work_rolls_back_without_commit(pool: asyncpg.Pool) -> None:
    async with UnitOfWork(pool) as uow:
        await uow.conn.execute("INSERT INTO things VALUES (1, NULL)")

    assert await count_things(pool) == 0


async def test_unit_of_work_rolls_back_on_exception(pool: asyncpg.Pool) -> None:
    class HandlerFailed(Exception):
        pass

    async def handler() -> None:
        async with UnitOfWork(pool) as uow:
            await uow.conn.execute("INSERT INTO things VALUES (1, NULL)")
            raise HandlerFailed

    with pytest.raises(HandlerFailed):
        await handler()

    assert await count_things(pool) == 0


async def test_unit_of_work_keeps_committed_writes(pool: asyncpg.Pool) -> None:
    async with UnitOfWork(pool) as uow:
        await uow.conn.execute("INSERT INTO things VALUES (1, NULL)")
        await uow.commit()
        assert uow.committed
        with pytest.raises(RuntimeError):
            _ = uow.conn

    assert await count_things(pool) == 1


async def test_inbox_claims_an_event_once_per_consumer(pool: asyncpg.Pool) -> None:
    async with UnitOfWork(pool) as uow:
        assert await claim(uow.conn, "orders-apply", "evt-1")
        assert not await claim(uow.conn, "orders-apply", "evt-1")
        assert await claim(uow.conn, "orders-other", "evt-1")
        await uow.commit()

    async with UnitOfWork(pool) as uow:
        assert not await claim(uow.conn, "orders-apply", "evt-1")


async def test_rolled_back_claim_can_be_claimed_again(pool: asyncpg.Pool) -> None:
    async with UnitOfWork(pool) as uow:
        assert await claim(uow.conn, "c", "evt-1")
        await uow.conn.execute("INSERT INTO things VALUES (1, NULL)")
        # the handler fails: no commit

    async with UnitOfWork(pool) as uow:
        assert await claim(uow.conn, "c", "evt-1")


async def test_claim_many_returns_only_first_seen_ids(pool: asyncpg.Pool) -> None:
    async with UnitOfWork(pool) as uow:
        assert await claim(uow.conn, "c", "b")
        fresh = await claim_many(uow.conn, "c", ["a", "b", "c", "a"])
        assert await claim_many(uow.conn, "c", []) == set()
        await uow.commit()

    assert fresh == {"a", "c"}


async def test_prune_inbox_forgets_only_old_claims(pool: asyncpg.Pool) -> None:
    async with UnitOfWork(pool) as uow:
        await claim_many(uow.conn, "c", ["old", "new"])
        await uow.conn.execute(
            "UPDATE inbox SET received_at = now() - interval '8 days' WHERE event_id = 'old'"
        )
        await uow.commit()

    assert await prune_inbox(pool, timedelta(days=7)) == 1

    assert [r["event_id"] for r in await pool.fetch("SELECT event_id FROM inbox")] == ["new"]


async def test_poll_state_round_trips_and_is_replaced(pool: asyncpg.Pool) -> None:
    async with UnitOfWork(pool) as uow:
        assert await get_poll_state(uow.conn, "orders.history") is None
        await set_poll_state(uow.conn, "orders.history", {"watermark": "2026-01-01T00:00:00Z"})
        await set_poll_state(uow.conn, "orders.history", {"watermark": "2026-02-01", "page": 2})
        await uow.commit()

    async with pool.acquire() as conn:
        state = await get_poll_state(conn, "orders.history")
    assert state == {"watermark": "2026-02-01", "page": 2}


async def test_poll_state_works_on_a_connection_without_pool_codecs(
    pool: asyncpg.Pool, fresh_database: str
) -> None:
    schema = await pool.fetchval("SELECT current_schema()")
    conn = await asyncpg.connect(fresh_database, server_settings={"search_path": schema})
    try:
        await set_poll_state(conn, "listings", {"cursor": None, "n": Decimal("1.5")})
        assert await get_poll_state(conn, "listings") == {"cursor": None, "n": "1.5"}
    finally:
        await conn.close()


async def test_failed_commit_raises_its_own_error_and_keeps_nothing(pool: asyncpg.Pool) -> None:
    async def handler() -> None:
        async with UnitOfWork(pool) as uow:
            await uow.conn.execute("INSERT INTO things VALUES (1, NULL)")
            await uow.conn.execute("INSERT INTO pairs VALUES (1), (1)")  # checked at COMMIT
            await uow.commit()

    with pytest.raises(asyncpg.UniqueViolationError):
        await handler()

    assert await count_things(pool) == 0
    async with UnitOfWork(pool) as uow:  # the pooled connection is healthy again
        assert await uow.conn.fetchval("SELECT 1") == 1


async def test_unit_of_work_survives_its_connection_being_killed(pool: asyncpg.Pool) -> None:
    class HandlerFailed(Exception):
        pass

    async def handler() -> None:
        async with UnitOfWork(pool) as uow:
            await uow.conn.execute("INSERT INTO things VALUES (1, NULL)")
            pid = uow.conn.get_server_pid()
            await pool.execute("SELECT pg_terminate_backend($1)", pid)
            raise HandlerFailed

    with pytest.raises(HandlerFailed):
        await handler()

    assert await count_things(pool) == 0


SESSION_STATE_SQL = """
SELECT (SELECT count(*) FROM pg_listening_channels()) AS listens,
       (SELECT count(*) FROM pg_locks
        WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS advisory_locks,
       current_setting('work_mem') AS work_mem,
       pg_backend_pid() AS pid
"""


async def test_a_released_connection_is_rolled_back_and_a_session_connection_reset(
    fresh_database: str,
) -> None:
    pool = await create_pool(fresh_database, max_size=1)  # every acquire: the same session
    try:
        fresh = await pool.fetchrow(SESSION_STATE_SQL)
        async with pool.acquire() as conn:  # a transaction left open is rolled back
            await conn.execute("BEGIN")
            await conn.execute("CREATE TABLE left_open (id int)")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('left_open')") is None
        async with session_connection(pool) as conn:
            await conn.execute("LISTEN soleflip_test")
            await conn.execute("SELECT pg_advisory_lock(42)")
            await conn.execute("SET work_mem = '7MB'")
            held = await conn.fetchrow(SESSION_STATE_SQL)
            assert (held["listens"], held["advisory_locks"], held["work_mem"]) == (1, 1, "7MB")
        after = await pool.fetchrow(SESSION_STATE_SQL)
        assert after["pid"] == fresh["pid"]
        assert (after["listens"], after["advisory_locks"]) == (0, 0)
        assert after["work_mem"] == fresh["work_mem"]
    finally:
        await pool.close()
