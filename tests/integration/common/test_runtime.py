"""ServiceRuntime against real Postgres and NATS: consume, write, outbox-publish, shut down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
from nats.js.api import ConsumerConfig, DeliverPolicy

from soleflip.common.bus import ConsumerRunner, Message, Names
from soleflip.common.contracts import encode_event, new_event
from soleflip.common.db import UnitOfWork, claim, enqueue, migrate
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.settings import Settings
from soleflip.common.testing.db import service_names, write_migrations

SEEN_TABLE = "CREATE TABLE seen (event_id text PRIMARY KEY);"


def _runtime(service: str, dsn: str, nats_url: str, names: Names) -> ServiceRuntime:
    settings = Settings(database_url=dsn, nats_url=(nats_url,), nats_prefix=names.prefix)
    runtime = ServiceRuntime(service, settings, streams=["INGEST", "ORDERS"], use_stockx=False)

    async def handle(message: Message) -> None:
        event = message.event()
        async with UnitOfWork(runtime.pool) as uow:
            if await claim(uow.conn, "echo", event.id):
                await uow.conn.execute("INSERT INTO seen VALUES ($1)", event.id)
                reply = new_event("orders.order.upserted", {"of": event.id}, source=service)
                await enqueue(uow.conn, "orders.order.upserted", reply)
            await uow.commit()

    runtime.add_consumer(
        lambda rt: ConsumerRunner(
            rt.nc,
            rt.names,
            stream="INGEST",
            durable=f"{service}-echo",
            subjects=["ingest.test.>"],
            handler=handle,
            publisher=rt.publisher,
        )
    )
    return runtime


async def _published(runtime: ServiceRuntime, count: int) -> list[dict[str, str]]:
    sub = await runtime.js.pull_subscribe(
        runtime.names.subject("orders.>"),
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    msgs = await sub.fetch(count, timeout=5)
    return [msgspec.json.decode(m.data)["data"] for m in msgs]


async def test_runtime_consumes_writes_and_relays_once_per_event(
    fresh_database: str, nats_url: str, names: Names, tmp_path: Path
) -> None:
    async with service_names(fresh_database) as services:
        service = services.new("rt")
        await migrate(
            fresh_database, service, write_migrations(tmp_path, {"0001_seen.sql": SEEN_TABLE})
        )
        runtime = _runtime(service, fresh_database, nats_url, names)
        async with runtime.lifespan():
            event = new_event("test.ping", {"n": 1}, source="test")
            for _ in range(3):  # a redelivered or re-sent event must have one effect
                await runtime.publisher.publish(
                    "ingest.test.ping", encode_event(event), msg_id=f"{event.id}-{_}"
                )
            async with asyncio.timeout(10):
                # The database is polled: nothing else tells when the consumer committed.
                while await runtime.pool.fetchval("SELECT count(*) FROM seen") == 0:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            published = await _published(runtime, 1)
            await runtime.readiness()["postgres"]()
            await runtime.readiness()["nats"]()
        assert published == [{"of": event.id}]
        assert runtime.consumers
        assert not runtime.consumers[0].running


async def test_runtime_leader_task_runs_in_one_of_two_processes(
    fresh_database: str, nats_url: str, names: Names, tmp_path: Path
) -> None:
    async with service_names(fresh_database) as services:
        service = services.new("rt")
        await migrate(
            fresh_database, service, write_migrations(tmp_path, {"0001_seen.sql": SEEN_TABLE})
        )
        running: list[str] = []

        def task(label: str):  # type: ignore[no-untyped-def]
            async def work(_rt: ServiceRuntime) -> None:
                running.append(label)
                await asyncio.Event().wait()

            return work

        first = _runtime(service, fresh_database, nats_url, names)
        second = _runtime(service, fresh_database, nats_url, names)
        first.add_task("poller", task("first"), leader=True)
        second.add_task("poller", task("second"), leader=True)
        async with first.lifespan(), second.lifespan():
            await asyncio.sleep(1.0)
            assert len(running) == 1
