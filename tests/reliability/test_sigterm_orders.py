"""`soleflip serve orders` gets SIGTERM while consuming a burst and answering REST requests.

What the orchestrator expects of a data service: it stops taking requests and messages,
finishes or NAKs the batch in hand, drains NATS, closes the pool and exits 0 within the grace
period. Every REST request sent before the listener closed gets its answer; after a restart
every event of the burst is applied exactly once, without waiting out the consumer's ack wait
(nothing was left unacknowledged in limbo).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from soleflip.common.bus import Names, Publisher, connect, ensure_streams, stream_spec
from soleflip.common.http import hash_token
from tests.integration.orders.support import event, order_resource, publish_events
from tests.reliability._procs import (
    ServiceProcess,
    migrate_service,
    replicas,
    service_env,
)
from tests.support.wait import until

pytestmark = pytest.mark.slow

ORDERS = 1250
STATUSES = ("CREATED", "SHIPPED", "AUTHENTICATING", "AUTHENTICATED")
EVENTS = ORDERS * len(STATUSES)  # 5,000
CHUNK = 500
SIGTERM_AFTER = 2000  # events published before the SIGTERM; the rest follow it
SENDERS = 4
#: deploy/k8s/base/orders: terminationGracePeriodSeconds.
GRACE_PERIOD_S = 60.0
#: Well below the consumer's 30 s ack wait: a message left unsettled would take that long.
RESUME_TIMEOUT_S = 20.0
TOKEN = "sigterm-test-reader"
INBOX_SQL = "SELECT count(*) FROM inbox WHERE consumer = 'orders-ingest'"


@dataclass
class Requests:
    """How each REST request ended."""

    answered: int = 0
    unreached: list[float] = field(default_factory=list)  # when a sender found no listener
    unexpected: list[str] = field(default_factory=list)


@pytest.fixture
async def db(fresh_database: str) -> AsyncIterator[asyncpg.Connection]:
    await migrate_service(fresh_database, "orders")
    conn = await asyncpg.connect(fresh_database, server_settings={"search_path": "orders"})
    yield conn
    await conn.close()


@pytest.fixture
def orders(
    fresh_database: str, nats_url: str, names: Names, tmp_path: Path
) -> Iterator[ServiceProcess]:
    """One replica; no StockX (the pollers' first poll fails, later ones never come)."""
    env = service_env(
        fresh_database,
        nats_url,
        names,
        "http://127.0.0.1:9",
        SOLEFLIP_POLL_INTERVAL_S="3600",
        SOLEFLIP_API_TOKENS=f"reader:read:{hash_token(TOKEN)}",
    )
    with replicas("orders", env, 1, tmp_path) as procs:
        yield procs[0]


def burst() -> list[dict[str, Any]]:
    return [
        event(
            "stockx.order.updated",
            order_resource(f"S-{n:05d}", status, f"2026-01-01T{10 + step:02d}:00:00.000Z"),
        )
        for step, status in enumerate(STATUSES)
        for n in range(ORDERS)
    ]


async def send(url: str, requests: Requests, stop_at: float) -> None:
    """List orders (a query on the pool) until the listener is gone, or the deadline."""
    headers = {"authorization": f"Bearer {TOKEN}", "connection": "close"}
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:
        while time.monotonic() < stop_at:
            try:
                answer = await client.get(f"{url}/api/v1/orders", params={"limit": 50})
            except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
                # Refused, or reset from the closed listener's backlog: never reached the app.
                requests.unreached.append(time.monotonic())
                return
            if answer.status_code == 200:
                requests.answered += 1
            else:
                requests.unexpected.append(f"{answer.status_code}: {answer.text[:200]}")


async def test_sigterm_mid_burst_exits_0_answers_every_request_and_loses_no_event(
    orders: ServiceProcess, db: asyncpg.Connection, nats_url: str, names: Names
) -> None:
    nc = await connect((nats_url,), name="test-publisher")
    requests = Requests()
    try:
        await ensure_streams(nc.jetstream(), names, specs=[stream_spec("INGEST")])
        orders.start()
        await orders.wait_ready()
        stop_at = time.monotonic() + GRACE_PERIOD_S
        senders = [asyncio.create_task(send(orders.url, requests, stop_at)) for _ in range(SENDERS)]
        publisher, events = Publisher(nc.jetstream(), names), burst()
        for start in range(0, len(events), CHUNK):
            if start == SIGTERM_AFTER:

                async def consuming() -> bool:
                    return int(await db.fetchval(INBOX_SQL)) > 0

                await until(consuming, 30, what="orders consumes", interval=0.01)
                answered_before = requests.answered
                orders.terminate()
                sigterm_at = time.monotonic()
            await publish_events(publisher, events[start : start + CHUNK])
        code = await orders.wait(GRACE_PERIOD_S)
        exited_after = time.monotonic() - sigterm_at
        await asyncio.gather(*senders)
    finally:
        await nc.close()
    applied_at_exit = int(await db.fetchval(INBOX_SQL))

    assert code == 0, f"exit code {code}\n{orders.tail()}"
    assert exited_after < GRACE_PERIOD_S
    assert answered_before >= SENDERS, "too little REST load before the SIGTERM to mean anything"
    assert not requests.unexpected, requests.unexpected[:5]
    assert len(requests.unreached) == SENDERS, "every sender ends at the closed listener"
    assert min(requests.unreached) >= sigterm_at, "refused before the SIGTERM"
    assert 0 < applied_at_exit < EVENTS, "the SIGTERM must land mid-burst"

    orders.start()
    await orders.wait_ready()

    async def all_applied() -> bool:
        return int(await db.fetchval(INBOX_SQL)) >= EVENTS

    await until(
        all_applied, RESUME_TIMEOUT_S, what="the rest applied after the restart", interval=0.1
    )
    assert int(await db.fetchval(INBOX_SQL)) == EVENTS
    history = "SELECT count(*), count(DISTINCT (order_number, status)) FROM order_status_history"
    assert tuple(await db.fetchrow(history) or ()) == (EVENTS, EVENTS)
    done = """SELECT count(*) FROM "order" WHERE status = 'AUTHENTICATED'"""
    assert await db.fetchval(done) == ORDERS
