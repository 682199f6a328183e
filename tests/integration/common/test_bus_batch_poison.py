"""A batch handler writing to real Postgres: one poison message is dead-lettered alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from soleflip.common.bus import (
    BatchHandler,
    ConsumerRunner,
    Message,
    Names,
    Outcome,
    Outgoing,
    Publisher,
    list_dead_letters,
    replay,
)
from soleflip.common.db import UnitOfWork, claim_many, create_pool, migrate

CONSUMER = "test-batch"
CREATE_SQL = "CREATE TABLE applied (event_id text NOT NULL, note text NOT NULL)"
INSERT_SQL = "INSERT INTO applied (event_id, note) VALUES ($1, $2)"


@pytest.fixture
async def pool(fresh_database: str, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    await migrate(fresh_database, "poison", tmp_path)  # the library's inbox, no service tables
    pool = await create_pool(fresh_database, schema="poison", max_size=4)
    await pool.execute(CREATE_SQL)
    try:
        yield pool
    finally:
        await pool.close()


def batch_handler(pool: asyncpg.Pool) -> BatchHandler:
    """Claims and writes a whole batch in one transaction, like the services' batch handlers."""

    async def handle(messages: Sequence[Message]) -> Sequence[Outcome]:
        async with UnitOfWork(pool) as uow:
            fresh = await claim_many(uow.conn, CONSUMER, [m.event_id or "" for m in messages])
            rows = [(m.event_id, m.data.decode()) for m in messages if m.event_id in fresh]
            await uow.conn.executemany(INSERT_SQL, rows)  # a NUL in text: Postgres refuses
            await uow.commit()
        return [Outcome.ack()] * len(messages)

    return handle


async def wait_for(
    probe: Callable[[], Awaitable[object]], want: object, within: float = 20.0
) -> None:
    deadline = time.monotonic() + within
    while (value := await probe()) != want:
        assert time.monotonic() < deadline, f"still {value!r}, want {want!r}"
        await asyncio.sleep(0.05)


async def test_a_poison_message_is_dead_lettered_alone_and_again_after_replay(
    bus_nc: Client, bus_js: JetStreamContext, names: Names, pool: asyncpg.Pool
) -> None:
    ids = [f"evt-{n}" for n in range(100)]
    notes = {event_id: f"note {event_id}" for event_id in ids}
    notes["evt-37"] = "bad \x00 note"
    publisher = Publisher(bus_js, names)
    await publisher.publish_many([Outgoing("ingest.test.thing", notes[i].encode(), i) for i in ids])
    runner = ConsumerRunner(
        bus_nc,
        names,
        stream="INGEST",
        durable=CONSUMER,
        subjects=["ingest.>"],
        batch_handler=batch_handler(pool),
        batch_size=100,
        nak_delays=(0.1,),
    )
    await runner.start()  # after the publish: the first fetch takes all 100 in one batch

    async def applications() -> list[tuple[str, int]]:
        rows = await pool.fetch("SELECT event_id, count(*) FROM applied GROUP BY 1 ORDER BY 1")
        return sorted((r["event_id"], r["count"]) for r in rows)

    async def dead_ids() -> list[str | None]:
        return [d.original_msg_id for d in await list_dead_letters(bus_js, names, CONSUMER)]

    try:
        valid = sorted((i, 1) for i in ids if i != "evt-37")
        await wait_for(applications, valid)
        await wait_for(dead_ids, ["evt-37"])

        [result] = await replay(bus_js, names, consumer=CONSUMER)
        assert result.dead_letter.original_msg_id == "evt-37"
        await wait_for(dead_ids, ["evt-37"])  # the replay failed alone, dead-lettered again
        await asyncio.sleep(0.5)
        assert await applications() == valid
        assert await dead_ids() == ["evt-37"]
    finally:
        await runner.stop(grace=5)
