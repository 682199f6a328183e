"""A service process killed around its outbox publish, with the real JetStream publisher.

The library's outbox tests use an in-memory publish; here a child process runs `ServiceRuntime`
(the relay publishes through `Publisher.publish_many` to a real NATS) and dies with `os._exit`
either after its commit but before any publish, or after JetStream stored the batch but before the
rows were marked. A fresh runtime on the same database must leave exactly one stream message per
event: nothing lost, and a republished batch dropped by JetStream's `Nats-Msg-Id` de-duplication.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from soleflip.common.bus import Names
from soleflip.common.db import migrate
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.settings import Settings
from soleflip.common.testing.db import service_names, write_migrations

pytestmark = pytest.mark.slow

EVENTS = 5

# argv: dsn, nats url, prefix, service, mode ("before-publish" | "after-publish"), events.
CRASHING_SERVICE = """
import asyncio, os, sys
from soleflip.common.contracts import new_event
from soleflip.common.db import UnitOfWork, enqueue_many
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.settings import Settings

dsn, nats_url, prefix, service, mode, count = sys.argv[1:7]
settings = Settings(database_url=dsn, nats_url=(nats_url,), nats_prefix=prefix)
runtime = ServiceRuntime(service, settings, streams=["ORDERS"], use_stockx=False)
real_publish = runtime._publish_outbox

async def crash_around_publish(messages):
    if mode == "after-publish":
        await real_publish(messages)  # JetStream has acked every message of the batch
    print(" ".join(m.msg_id for m in messages), flush=True)
    os._exit(9)  # before the relay marks the rows published

runtime._publish_outbox = crash_around_publish

async def main():
    async with runtime.lifespan():
        batch = [
            new_event("orders.order.upserted", {"n": i}, source=service) for i in range(int(count))
        ]
        async with UnitOfWork(runtime.pool) as uow:
            await enqueue_many(uow.conn, [("orders.order.upserted", e) for e in batch])
            # Printed before the commit: the relay may wake and kill us right after it.
            print(" ".join(e.id for e in batch), flush=True)
            await uow.commit()
        await asyncio.sleep(30)  # the relay wakes on the commit and the process dies
    os._exit(3)

asyncio.run(main())
"""


@pytest.fixture
async def service(fresh_database: str, tmp_path: Path) -> AsyncIterator[str]:
    async with service_names(fresh_database) as services:
        name = services.new("crash")
        await migrate(fresh_database, name, write_migrations(tmp_path / "migrations", {}))
        yield name


async def _run_crashing(args: list[str]) -> tuple[list[str], list[str]]:
    """Run the crashing service; returns (committed ids, ids handed to the relay's publish)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CRASHING_SERVICE,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "SOLEFLIP_LOG_LEVEL": "warning"},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 9, err.decode()[-2000:]
    committed, published = out.decode().splitlines()
    return committed.split(), published.split()


async def _stream_ids(runtime: ServiceRuntime) -> list[str]:
    """The `Nats-Msg-Id` of every message on the test's ORDERS stream."""
    info = await runtime.js.stream_info(runtime.names.stream("ORDERS"))
    if info.state.messages == 0:
        return []
    sub = await runtime.js.pull_subscribe(
        runtime.names.subject("orders.>"),
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    msgs = await sub.fetch(int(info.state.messages) + 10, timeout=2)
    await sub.unsubscribe()
    return [(m.headers or {}).get("Nats-Msg-Id", "") for m in msgs]


@pytest.mark.parametrize("mode", ["before-publish", "after-publish"])
async def test_a_service_killed_around_its_outbox_publish_leaves_each_event_once_on_the_stream(
    mode: str, service: str, fresh_database: str, nats_url: str, names: Names
) -> None:
    args = [fresh_database, nats_url, names.prefix, service, mode, str(EVENTS)]
    committed, handed_to_publish = await _run_crashing(args)
    assert sorted(handed_to_publish) == sorted(committed)

    settings = Settings(database_url=fresh_database, nats_url=(nats_url,), nats_prefix=names.prefix)
    restarted = ServiceRuntime(service, settings, streams=["ORDERS"], use_stockx=False)
    async with restarted.lifespan():
        async with asyncio.timeout(10):
            while await restarted.pool.fetchval(  # noqa: ASYNC110 - only the table tells
                "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            ):
                await asyncio.sleep(0.05)
        ids = await _stream_ids(restarted)
        await restarted.js.delete_stream(restarted.names.stream("ORDERS"))

    assert sorted(ids) == sorted(committed)  # every event once: none lost, no duplicate stored
