"""The outbox relay and leader locks across a real Postgres restart (a server of our own)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import asyncpg
import pytest

from soleflip.common.contracts import new_event
from soleflip.common.db import (
    LeaderLock,
    OutboxMessage,
    OutboxRelay,
    UnitOfWork,
    create_pool,
    enqueue,
    migrate,
)
from soleflip.common.localinfra import PostgresServer
from tests.support import servers

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    """A Postgres that the test may stop and start again on the same port."""
    with servers.own_postgres("soleflip-pg-restart-") as pg:
        yield pg


@pytest.fixture
async def pool(server: PostgresServer, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    await migrate(server.url, "orders", tmp_path)  # a cluster of our own: no name clashes
    pool = await create_pool(server.url, schema="orders", max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


async def test_relay_listens_again_after_postgres_restarts(
    server: PostgresServer, pool: asyncpg.Pool
) -> None:
    published: list[str] = []
    arrived = asyncio.Event()

    async def publish(messages: Sequence[OutboxMessage]) -> None:
        published.extend(m.msg_id for m in messages)
        arrived.set()

    # A sweep interval far beyond the test: only NOTIFY can deliver quickly.
    relay = OutboxRelay(pool, publish, poll_interval=120, backoff_initial=0.05, backoff_max=0.5)
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(30):
            await relay.listening.wait()
            await asyncio.to_thread(server.stop)
            while relay.listening.is_set():  # noqa: ASYNC110 - waiting for the loss to be seen
                await asyncio.sleep(0.05)
            await asyncio.to_thread(server.start)
            await relay.listening.wait()
        event = new_event("orders.order.upserted", {}, source="orders")
        async with UnitOfWork(pool) as uow:
            await enqueue(uow.conn, "orders.order.upserted", event)
            await uow.commit()
        async with asyncio.timeout(3):
            await arrived.wait()
    finally:
        await relay.stop()
        await task

    assert published == [event.id]


async def try_acquire(lock: LeaderLock) -> bool:
    try:
        return await lock.acquire()
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False  # a pooled connection from before the restart


async def test_leader_lock_reports_loss_when_postgres_restarts(
    server: PostgresServer, pool: asyncpg.Pool
) -> None:
    lock = LeaderLock(pool, "orders-poller", heartbeat=0.5)
    assert await lock.acquire()
    try:
        await asyncio.to_thread(server.stop)
        async with asyncio.timeout(5):
            await lock.lost.wait()
        await asyncio.to_thread(server.start)
        async with asyncio.timeout(10):
            while not await try_acquire(lock):  # noqa: ASYNC110 - polling the server
                await asyncio.sleep(0.1)
        assert lock.held
    finally:
        await lock.release()
