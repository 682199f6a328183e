"""The outbox relay while NATS is down (a nats-server of the test's own, never the shared one):
rows committed meanwhile stay unmarked, nothing is dropped, each event is on the stream once
after it returns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import asyncpg
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy
from prometheus_client import REGISTRY

from soleflip.common.bus import Names, Outgoing, Publisher, connect, disconnect, ensure_streams
from soleflip.common.contracts import new_event
from soleflip.common.db import OutboxMessage, OutboxRelay, UnitOfWork, create_pool, enqueue, migrate
from soleflip.common.localinfra import NatsServer

pytestmark = pytest.mark.slow

EVENTS = 20
UNPUBLISHED_SQL = "SELECT count(*) FROM outbox WHERE published_at IS NULL"


@pytest.fixture
async def pool(fresh_database: str, tmp_path: Path) -> AsyncIterator[asyncpg.Pool]:
    await migrate(fresh_database, "relaytest", tmp_path)
    pool = await create_pool(fresh_database, schema="relaytest", max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


def paused() -> float | None:
    return REGISTRY.get_sample_value("soleflip_outbox_paused", {"relay": "nats-outage"})


async def test_relay_keeps_its_rows_while_nats_is_down_and_publishes_each_once_after(
    pool: asyncpg.Pool, nats_server: NatsServer, names: Names
) -> None:
    nc = await connect(nats_server.url, name="relay-test")
    js = nc.jetstream()
    await ensure_streams(js, names)
    publisher = Publisher(js, names)

    async def publish(messages: Sequence[OutboxMessage]) -> None:
        await publisher.publish_many(
            [Outgoing(m.subject, m.payload, m.msg_id, m.headers) for m in messages]
        )

    relay = OutboxRelay(pool, publish, name="nats-outage", backoff_initial=0.1, backoff_max=1.0)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.to_thread(nats_server.stop)
        ids = []
        for _ in range(EVENTS):
            event = new_event("orders.order.upserted", {}, source="orders")
            async with UnitOfWork(pool) as uow:
                await enqueue(uow.conn, "orders.order.upserted", event)
                await uow.commit()
            ids.append(event.id)
        await asyncio.sleep(4)  # several failed sweeps
        assert await pool.fetchval(UNPUBLISHED_SQL) == EVENTS
        assert paused() == 1
        await asyncio.to_thread(nats_server.start)
        async with asyncio.timeout(30):
            while await pool.fetchval(UNPUBLISHED_SQL):  # noqa: ASYNC110 - polling the table
                await asyncio.sleep(0.1)
        assert paused() == 0
        sub = await js.pull_subscribe(
            names.subject("orders.>"),
            stream=names.stream("ORDERS"),
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        msgs = await sub.fetch(EVENTS + 5, timeout=2)
        assert sorted(m.headers["Nats-Msg-Id"] for m in msgs if m.headers) == sorted(ids)
    finally:
        await relay.stop()
        await task
        await disconnect(nc)
