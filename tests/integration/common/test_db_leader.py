"""Leader election: one holder per key across replicas, takeover on holder death, and no other
service's role able to take or block a service's leadership."""

from __future__ import annotations

import asyncio
import importlib.resources
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from soleflip.common.db import LeaderLock, create_pool, leader, migrate, role_name, run_as_leader

KILL_HOLDER_SQL = "SELECT count(pg_terminate_backend(backend_pid)) FROM orders.leader"


@pytest.fixture
async def replicas(
    fresh_database: str, tmp_path: Path
) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """Two pools, as two replicas of a service would have (the library's tables only)."""
    await migrate(fresh_database, "orders", tmp_path)
    first = await create_pool(fresh_database, max_size=3, schema="orders")
    second = await create_pool(fresh_database, max_size=3, schema="orders")
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


def as_role(dsn: str, role: str) -> str:
    """`dsn` acting as `role` (`SET ROLE` at connect): that role's privileges, whatever the
    server's authentication, as the migrations created it."""
    return f"{dsn}{'&' if '?' in dsn else '?'}role={role}"


async def test_another_services_role_cannot_take_or_block_a_services_leadership(
    fresh_database: str,
) -> None:
    for service in ("orders", "catalog"):
        await migrate(
            fresh_database, service, importlib.resources.files(f"soleflip.{service}") / "migrations"
        )
    hostile = await asyncpg.connect(as_role(fresh_database, role_name("catalog")))
    orders = await create_pool(as_role(fresh_database, role_name("orders")), schema="orders")
    lock = LeaderLock(orders, "orders:pollers")
    try:
        # What a catalog bug (or a compromised catalog) could do to orders' leader keys:
        for key in ("soleflip.leader:orders:pollers", "orders:pollers"):
            assert await hostile.fetchval(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", key
            )
        for statement in (
            "SELECT * FROM orders.leader FOR UPDATE",
            "LOCK TABLE orders.leader IN ACCESS EXCLUSIVE MODE",
            "INSERT INTO orders.leader VALUES ('orders:pollers', 'x', 1, now(), 'infinity')",
            "DELETE FROM orders.leader",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with hostile.transaction():
                    await hostile.execute(statement)

        assert await lock.acquire()
        assert await orders.fetchval("SELECT count(*) FROM orders.leader") == 1
    finally:
        await lock.release()
        await orders.close()
        await hostile.close()


async def test_a_stalled_holders_lease_expires_and_the_holder_learns_it_lost(
    replicas: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    """A holder whose session lives on but who stops renewing (hung, partitioned) is replaced
    once its lease runs out, and on waking finds the row taken instead of leading on."""
    stalled, follower = LeaderLock(replicas[0], "k", heartbeat=0.2), LeaderLock(replicas[1], "k")
    try:
        assert await stalled.acquire()
        assert stalled._watch is not None
        stalled._watch.cancel()  # it stops renewing; its session stays open
        assert not await follower.acquire()

        async with asyncio.timeout(5):
            while not await follower.acquire():  # noqa: ASYNC110 - the lease is 0.6 s
                await asyncio.sleep(0.1)
        stalled._watch = asyncio.create_task(stalled._heartbeat(stalled._conn))  # it wakes up
        async with asyncio.timeout(5):
            await stalled.lost.wait()
        assert follower.held
    finally:
        await stalled.release()
        await follower.release()
        async with replicas[0].acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM leader") == 0
