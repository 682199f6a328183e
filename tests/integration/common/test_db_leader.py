"""Advisory-lock leader election: one holder per key across replicas, takeover on holder death."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from soleflip.common.db import LeaderLock, create_pool, leader, run_as_leader

KILL_HOLDER_SQL = """
SELECT count(pg_terminate_backend(pid)) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND database = (
    SELECT oid FROM pg_database WHERE datname = current_database()
)
"""


@pytest.fixture
async def replicas(fresh_database: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """Two pools, as two replicas of a service would have."""
    first = await create_pool(fresh_database, max_size=3)
    second = await create_pool(fresh_database, max_size=3)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def kill_holder(fresh_database: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        assert await conn.fetchval(KILL_HOLDER_SQL) == 1
    finally:
        await conn.close()


async def test_only_one_replica_holds_a_key(
    replicas: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    a, b = LeaderLock(replicas[0], "orders-poller"), LeaderLock(replicas[1], "orders-poller")
    other = LeaderLock(replicas[1], "listings-poller")
    try:
        assert await a.acquire()
        assert not await b.acquire()
        assert await other.acquire()
        assert a.held
        assert not b.held

        await a.release()

        assert a.lost.is_set()
        assert await b.acquire()
    finally:
        for lock in (a, b, other):
            await lock.release()


async def test_leader_context_manager_reports_whether_it_won(
    replicas: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    async with leader(replicas[0], "k") as first, leader(replicas[1], "k") as second:
        assert first
        assert not second
    async with leader(replicas[1], "k") as again:
        assert again


async def test_another_replica_takes_over_when_the_holders_connection_dies(
    replicas: tuple[asyncpg.Pool, asyncpg.Pool], fresh_database: str
) -> None:
    holder, follower = LeaderLock(replicas[0], "k"), LeaderLock(replicas[1], "k")
    try:
        assert await holder.acquire()
        assert not await follower.acquire()

        await kill_holder(fresh_database)

        async with asyncio.timeout(5):
            await holder.lost.wait()
        assert not holder.held
        assert await follower.acquire()
    finally:
        await holder.release()
        await follower.release()


async def test_run_as_leader_cancels_work_on_loss_and_campaigns_again(
    replicas: tuple[asyncpg.Pool, asyncpg.Pool], fresh_database: str
) -> None:
    started: list[int] = []
    cancelled = asyncio.Event()
    terms = [asyncio.Event(), asyncio.Event()]

    async def poll_forever() -> None:
        started.append(len(started))
        terms[len(started) - 1].set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    campaign = asyncio.create_task(
        run_as_leader(replicas[0], "k", poll_forever, retry_interval=0.05, heartbeat=0.2)
    )
    try:
        async with asyncio.timeout(5):
            await terms[0].wait()
            await kill_holder(fresh_database)
            await cancelled.wait()
            await terms[1].wait()
    finally:
        campaign.cancel()
        await asyncio.gather(campaign, return_exceptions=True)

    assert started == [0, 1]


async def test_run_as_leader_returns_when_work_finishes(
    replicas: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    done: list[bool] = []

    async def once() -> None:
        done.append(True)

    async with asyncio.timeout(5):
        await run_as_leader(replicas[0], "k", once)

    assert done == [True]
    async with leader(replicas[1], "k") as is_leader:
        assert is_leader  # released on return
