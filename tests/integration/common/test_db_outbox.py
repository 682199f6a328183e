"""Transactional outbox and relay: order, marking, crash recovery, retries, replicas, pruning."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from prometheus_client import REGISTRY

from soleflip.common.contracts import CloudEvent, decode_event, new_event, uuid7
from soleflip.common.db import (
    OutboxMessage,
    OutboxRelay,
    UnitOfWork,
    create_pool,
    enqueue,
    enqueue_fresh,
    enqueue_many,
    prune_outbox,
)
from soleflip.common.testing.db import migrated_pool

# A relay process that publishes (prints) one batch and dies before marking it published.
CRASHING_RELAY = """
import asyncio, os, sys
from soleflip.common.db import OutboxRelay, create_pool

async def publish(messages):
    for m in messages:
        print(m.msg_id, flush=True)
    os._exit(9)

async def main():
    pool = await create_pool(sys.argv[1], schema=sys.argv[2], application_name="crashing-relay")
    await OutboxRelay(pool, publish).relay_once()

asyncio.run(main())
"""
CRASHED_BACKENDS_SQL = (
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'crashing-relay'"
    " AND datname = current_database()"
)


class FakeBus:
    """An in-memory `publish`: records batches; can fail or be slow on demand."""

    def __init__(self, *, delay: float = 0.0, failures: int = 0) -> None:
        self.batches: list[list[OutboxMessage]] = []
        self.delay = delay
        self.failures = failures
        self.attempts = 0
        self._published = asyncio.Event()

    async def publish(self, messages: Sequence[OutboxMessage]) -> None:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("bus unavailable")
        await asyncio.sleep(self.delay)
        self.batches.append(list(messages))
        self._published.set()

    @property
    def ids(self) -> list[str]:
        return [m.msg_id for batch in self.batches for m in batch]

    async def wait_for(self, count: int, within_s: float = 5.0) -> None:
        async with asyncio.timeout(within_s):
            while len(self.ids) < count:
                self._published.clear()
                await self._published.wait()


@pytest.fixture
async def pool(fresh_database: str, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_pool(fresh_database, tmp_path) as pool:
        yield pool


def events(n: int) -> list[CloudEvent]:
    return [new_event("orders.order.upserted", {"n": i}, source="orders") for i in range(n)]


async def commit_events(pool: asyncpg.Pool, batch: list[CloudEvent]) -> list[str]:
    async with UnitOfWork(pool) as uow:
        await enqueue_many(uow.conn, [("orders.order.upserted", e) for e in batch])
        await uow.commit()
    return [e.id for e in batch]


async def unpublished(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    return count


class Relays:
    """Relays a test runs in the background; all stopped (and awaited) at teardown."""

    def __init__(self) -> None:
        self.running: list[tuple[OutboxRelay, asyncio.Task[None]]] = []

    async def start(self, relay: OutboxRelay) -> OutboxRelay:
        self.running.append((relay, asyncio.create_task(relay.run())))
        async with asyncio.timeout(5):
            await relay.listening.wait()
        return relay

    async def stop_all(self) -> None:
        running, self.running = self.running, []
        for relay, task in running:
            await relay.stop()
            async with asyncio.timeout(5):
                await task


@pytest.fixture
async def relays() -> AsyncIterator[Relays]:
    background = Relays()
    yield background
    await background.stop_all()


async def test_relay_publishes_in_commit_order_and_marks_rows(pool: asyncpg.Pool) -> None:
    first, second = events(3), events(2)
    async with UnitOfWork(pool) as uow:
        await enqueue(uow.conn, "orders.order.upserted", first[0], {"traceparent": "00-abc"})
        await enqueue_many(uow.conn, [("orders.order.upserted", e) for e in first[1:]])
        await uow.commit()
    await commit_events(pool, second)
    bus = FakeBus()
    name = f"relay-{uuid7()}"

    assert await OutboxRelay(pool, bus.publish, name=name).drain() == 5

    assert bus.ids == [e.id for e in first + second]
    head = bus.batches[0][0]
    assert head.subject == "orders.order.upserted"
    assert decode_event(head.payload) == first[0]
    assert head.headers == {"ce-type": "orders.order.upserted", "traceparent": "00-abc"}
    # One batch, two header sets: each row keeps its own (decoded once per set).
    assert [m.headers for m in bus.batches[0][1:]] == [{"ce-type": "orders.order.upserted"}] * 4
    assert await unpublished(pool) == 0
    assert REGISTRY.get_sample_value("soleflip_outbox_published_total", {"relay": name}) == 5
    assert REGISTRY.get_sample_value("soleflip_outbox_lag_seconds_count", {"relay": name}) == 5
    assert await OutboxRelay(pool, bus.publish).drain() == 0
    assert len(bus.ids) == 5


async def test_uncommitted_and_repeated_events_are_not_published_twice(pool: asyncpg.Pool) -> None:
    batch = events(2)
    async with UnitOfWork(pool) as uow:
        await enqueue_many(uow.conn, [("s", e) for e in batch])  # rolled back: no commit
    await commit_events(pool, batch[:1])
    await commit_events(pool, batch[:1])  # the same event id again: a no-op
    bus = FakeBus()

    await OutboxRelay(pool, bus.publish).drain()

    assert bus.ids == [batch[0].id]


async def test_fresh_events_are_copied_in_order_wake_the_relay_and_refuse_a_repeated_id(
    pool: asyncpg.Pool, relays: Relays
) -> None:
    bus = FakeBus()
    await relays.start(OutboxRelay(pool, bus.publish, poll_interval=60))
    batch = events(3)

    async with UnitOfWork(pool) as uow:
        await enqueue_fresh(uow.conn, [("orders.order.upserted", e) for e in batch])
        await uow.commit()

    await bus.wait_for(3, within_s=2)
    assert bus.ids == [e.id for e in batch]
    head = bus.batches[0][0]
    assert decode_event(head.payload) == batch[0]
    assert [m.headers for m in bus.batches[0]] == [{"ce-type": "orders.order.upserted"}] * 3
    with pytest.raises(asyncpg.UniqueViolationError):
        async with UnitOfWork(pool) as uow:
            await enqueue_fresh(uow.conn, [("orders.order.upserted", batch[0])])


async def test_relay_wakes_on_commit_without_waiting_for_the_sweep(
    pool: asyncpg.Pool, relays: Relays
) -> None:
    bus = FakeBus()
    await relays.start(OutboxRelay(pool, bus.publish, poll_interval=60))

    ids = await commit_events(pool, events(3))

    await bus.wait_for(3, within_s=2)
    assert bus.ids == ids


async def test_rows_committed_while_no_relay_ran_are_published_on_start(
    pool: asyncpg.Pool, relays: Relays
) -> None:
    ids = await commit_events(pool, events(4))
    bus = FakeBus()

    await relays.start(OutboxRelay(pool, bus.publish, poll_interval=60))

    await bus.wait_for(4, within_s=2)
    assert bus.ids == ids


async def test_relay_killed_after_publish_before_marking_republishes_same_ids(
    pool: asyncpg.Pool, fresh_database: str
) -> None:
    ids = await commit_events(pool, events(3))
    schema = await pool.fetchval("SELECT current_schema()")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CRASHING_RELAY,
        fresh_database,
        schema,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 9, err.decode()
    assert out.decode().split() == ids  # published once, never marked
    # Its backend holds the rows' locks until Postgres sees the connection gone (SKIP LOCKED
    # would pass them over); on a loaded box that can outlast the process by a moment.
    async with asyncio.timeout(10):
        while await pool.fetchval(CRASHED_BACKENDS_SQL):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    bus = FakeBus()

    await OutboxRelay(pool, bus.publish).drain()

    assert bus.ids == ids  # duplicates carry the same msg id: JetStream drops them
    assert await unpublished(pool) == 0


async def test_failed_publish_is_retried_with_backoff_and_nothing_is_dropped(
    pool: asyncpg.Pool, relays: Relays
) -> None:
    bus = FakeBus(failures=3)
    ids = await commit_events(pool, events(5))

    await relays.start(OutboxRelay(pool, bus.publish, backoff_initial=0.01, poll_interval=60))

    await bus.wait_for(5)
    await relays.stop_all()  # lets the batch in flight commit its marks
    assert bus.ids == ids
    assert bus.attempts == 4
    assert await unpublished(pool) == 0


async def test_two_relays_share_rows_without_publishing_any_twice(
    pool: asyncpg.Pool, fresh_database: str
) -> None:
    ids = await commit_events(pool, events(600))
    schema = await pool.fetchval("SELECT current_schema()")
    other_pool = await create_pool(fresh_database, schema=schema)
    buses = FakeBus(delay=0.02), FakeBus(delay=0.02)
    try:
        await asyncio.gather(
            OutboxRelay(pool, buses[0].publish, batch=25).drain(),
            OutboxRelay(other_pool, buses[1].publish, batch=25).drain(),
        )
    finally:
        await other_pool.close()

    published = buses[0].ids + buses[1].ids
    assert sorted(published) == sorted(ids)  # every row exactly once
    assert buses[0].ids, "both replicas did work"
    assert buses[1].ids, "both replicas did work"
    for bus in buses:
        assert bus.ids == sorted(bus.ids, key=ids.index)  # each relay in id order


async def test_relay_listens_again_after_its_connection_is_killed(
    pool: asyncpg.Pool, relays: Relays
) -> None:
    bus = FakeBus()
    relay = await relays.start(
        OutboxRelay(pool, bus.publish, poll_interval=60, backoff_initial=0.05)
    )
    relay.listening.clear()
    killed = await pool.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE query LIKE 'LISTEN %' AND datname = current_database()"
    )
    assert killed == 1
    async with asyncio.timeout(5):
        await relay.listening.wait()

    ids = await commit_events(pool, events(2))

    await bus.wait_for(2, within_s=2)
    assert bus.ids == ids


async def test_prune_outbox_deletes_only_old_published_rows(pool: asyncpg.Pool) -> None:
    ids = await commit_events(pool, events(3))
    await OutboxRelay(pool, FakeBus().publish).drain()
    await commit_events(pool, events(1))  # unpublished: kept however old
    await pool.execute(
        "UPDATE outbox SET published_at = now() - interval '8 days', "
        "created_at = now() - interval '8 days' WHERE event_id = ANY($1)",
        ids[:2],
    )
    await pool.execute("UPDATE outbox SET created_at = now() - interval '30 days'")

    assert await prune_outbox(pool, timedelta(days=7), batch=1) == 2

    rows = await pool.fetch("SELECT event_id FROM outbox ORDER BY id")
    remaining = [r["event_id"] for r in rows]
    assert len(remaining) == 2
    assert remaining[0] == ids[2]


async def test_stop_before_run_starts_makes_run_return_at_once(pool: asyncpg.Pool) -> None:
    relay = OutboxRelay(pool, FakeBus().publish, poll_interval=60)
    task = asyncio.create_task(relay.run())  # scheduled, not yet running: a shutdown races it

    await relay.stop()

    async with asyncio.timeout(2):
        await task
