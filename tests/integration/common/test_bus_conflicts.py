"""A message whose transaction loses a real Postgres deadlock is held and applied again, no
delivery spent (a batch is held the same way rather than bisected)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from soleflip.common.bus import (
    ConsumerRunner,
    Message,
    Names,
    Outgoing,
    Publisher,
    list_dead_letters,
)
from soleflip.common.db import UnitOfWork, create_pool, migrate

CONSUMER = "test-conflict"


@pytest.fixture
async def pool(fresh_database: str, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    await migrate(fresh_database, "conflict", tmp_path)
    pool = await create_pool(fresh_database, schema="conflict", max_size=4)
    await pool.execute("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)")
    await pool.execute("INSERT INTO counter VALUES (1, 0), (2, 0)")
    try:
        yield pool
    finally:
        await pool.close()


async def test_a_deadlocked_message_is_held_and_applied_once_without_a_dead_letter(
    bus_nc: Client, bus_js: JetStreamContext, names: Names, pool: asyncpg.Pool
) -> None:
    first_lock = asyncio.Event()
    attempts: list[str] = []

    async def handle(message: Message) -> None:
        # Row 1 then row 2, against a rival taking row 2 then row 1 on the first attempt: the
        # short deadlock_timeout makes this transaction the one Postgres aborts (40P01).
        async with UnitOfWork(pool) as uow:
            await uow.conn.execute("SET LOCAL deadlock_timeout = '50ms'")
            await uow.conn.execute("UPDATE counter SET n = n + $1 WHERE id = 1", 1)
            first_lock.set()
            await asyncio.sleep(0.2 if not attempts else 0)
            attempts.append("try")
            await uow.conn.execute("UPDATE counter SET n = n + $1 WHERE id = 2", 1)
            await uow.commit()

    async def rival() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL deadlock_timeout = '10s'")
            await conn.execute("UPDATE counter SET n = n + 100 WHERE id = 2")
            await first_lock.wait()
            await conn.execute("UPDATE counter SET n = n + 100 WHERE id = 1")

    publisher = Publisher(bus_js, names)
    await publisher.publish_many([Outgoing("ingest.test.thing", b"x", "evt-1")])
    runner = ConsumerRunner(
        bus_nc,
        names,
        stream="INGEST",
        durable=CONSUMER,
        subjects=["ingest.>"],
        handler=handle,
        max_deliver=1,  # a retry would be a dead letter: only a hold keeps the batch
        nak_delays=(0.1,),
        outage_backoff=(0.1, 0.5),
    )
    rival_task = asyncio.create_task(rival())
    await runner.start()
    try:
        await rival_task
        deadline = time.monotonic() + 20
        while len(attempts) < 2 or await pool.fetchval("SELECT n FROM counter WHERE id = 2") < 101:
            assert time.monotonic() < deadline, f"attempts {attempts}"
            await asyncio.sleep(0.05)
        rows = await pool.fetch("SELECT id, n FROM counter ORDER BY id")
        assert [(r["id"], r["n"]) for r in rows] == [(1, 101), (2, 101)]
        await asyncio.sleep(0.3)
        assert await list_dead_letters(bus_js, names, CONSUMER) == []
    finally:
        await runner.stop(grace=5)
