"""Three `soleflip serve orders` replicas on one NATS and Postgres; one is killed mid-burst.

A burst of 3,000 StockX order and listing events goes to INGEST while all three replicas share
the `orders-ingest` consumer. The replica leading the pollers is killed with SIGKILL part-way
through. The other two must take over: every event applied exactly once (inbox, rows, status
history, and one ORDERS message per outbox row although three relays publish), and the StockX
poll fallback run by one replica at a time, before and after the kill, at its interval.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from soleflip.common.bus import Names, Publisher, connect, ensure_streams, stream_spec
from tests.integration.orders.support import event, listing_resource, order_resource, publish_events
from tests.reliability._procs import (
    ServiceProcess,
    call_times,
    gaps,
    leader_key,
    migrated_db,
    replicas,
    service_env,
    start_all,
    wait_for_leader,
)
from tests.support.sim import Sim, simulator_process
from tests.support.wait import until

pytestmark = pytest.mark.slow

REPLICAS = 3
ORDERS = 600
ORDER_STATUSES = ("SHIPPED", "AUTHENTICATING", "AUTHENTICATED", "COMPLETED")
LISTINGS = 300
LISTING_STATUSES = ("ACTIVE", "COMPLETED")
EVENTS = ORDERS * len(ORDER_STATUSES) + LISTINGS * len(LISTING_STATUSES)  # 3,000
CHUNK = 250
KILL_AFTER = 1000  # events published before the kill
POLL_INTERVAL_S = 2.0
#: A follower campaigns every 5 s (`run_as_leader`), then polls at once.
TAKEOVER_S = 10.0
#: The consumer's ack wait (30 s) brings back what the killed replica held, then some slack.
APPLY_TIMEOUT_S = 50.0
INBOX_SQL = "SELECT count(*) FROM inbox WHERE consumer = 'orders-ingest'"
#: Poll calls with one call per poll (the simulator holds no orders: one page each).
ORDER_POLL_PATHS = ("/v2/selling/orders/active", "/v2/selling/orders/history")
PAYOUT = {"totalPayout": "81.80", "salePrice": "102.00", "currencyCode": "EUR"}


@pytest.fixture
def sim() -> Iterator[Sim]:
    """A simulator with a catalog but no orders or listings: polls find nothing to apply."""
    with simulator_process() as url:
        sim = Sim(url)
        sim.http.post("/_sim/seed", json={"seed": 5, "products": 5, "listings": 0, "orders": 0})
        sim.clear_requests()
        yield sim


@pytest.fixture
async def db(fresh_database: str) -> AsyncIterator[asyncpg.Connection]:
    async with migrated_db(fresh_database, "orders") as conn:
        yield conn


@pytest.fixture
def orders(
    fresh_database: str, nats_url: str, names: Names, sim: Sim, tmp_path: Path
) -> Iterator[list[ServiceProcess]]:
    env = service_env(
        fresh_database, nats_url, names, sim.url, SOLEFLIP_POLL_INTERVAL_S=str(POLL_INTERVAL_S)
    )
    with replicas("orders", env, REPLICAS, tmp_path) as procs:
        yield procs


def burst() -> list[dict[str, Any]]:
    """Orders through four statuses and listings through two, each step a later `updatedAt`."""
    orders = [
        event(
            "stockx.order.updated",
            order_resource(
                f"R-{n:05d}", status, f"2026-01-01T{10 + step:02d}:00:00.000Z", payout=PAYOUT
            ),
        )
        for step, status in enumerate(ORDER_STATUSES)
        for n in range(ORDERS)
    ]
    listings = [
        event(
            "stockx.listing.updated",
            listing_resource(f"L-{n:05d}", status, f"2026-01-01T{8 + step:02d}:00:00.000Z"),
        )
        for step, status in enumerate(LISTING_STATUSES)
        for n in range(LISTINGS)
    ]
    # Interleaved, so each replica's batches hold both kinds.
    return [e for pair in zip(orders[: len(listings)], listings, strict=True) for e in pair] + (
        orders[len(listings) :]
    )


async def publish_with_kill(
    publisher: Publisher, db: asyncpg.Connection, leader: ServiceProcess
) -> float:
    """Publish the burst in chunks; SIGKILL `leader` once it has consumed some. Kill time."""
    events, killed_at = burst(), 0.0
    for start in range(0, len(events), CHUNK):
        await publish_events(publisher, events[start : start + CHUNK])
        if start + CHUNK == KILL_AFTER:

            async def consuming() -> bool:
                return int(await db.fetchval(INBOX_SQL)) > 0

            await until(consuming, 30, what="the replicas consume", interval=0.01)
            leader.kill()
            killed_at = time.time()
    return killed_at


def assert_one_poller(times: list[float], killed_at: float, what: str) -> None:
    """One poll per interval at most, before and after the kill; the survivors take over."""
    before = [t for t in times if t < killed_at]
    after = [t for t in times if t >= killed_at]
    assert len(before) >= 2, f"{what}: the leader polled {len(before)} times before the kill"
    assert after, f"{what}: nobody polled after the leader was killed"
    takeover = after[0] - killed_at
    assert takeover < TAKEOVER_S, f"{what}: the first poll {takeover:.1f} s after the kill"
    # A poll right after the kill is a handover, not a second poller: only steady gaps count.
    for window in (before, after):
        short = [round(g, 2) for g in gaps(window) if g < 0.75 * POLL_INTERVAL_S]
        assert not short, f"{what}: polls {short} s apart: more than one poller"
    span = after[-1] - after[0]
    assert len(after) <= span / POLL_INTERVAL_S + 1, f"{what}: {len(after)} polls in {span:.1f} s"


async def stream_messages(nats_url: str, names: Names, stream: str) -> int:
    nc = await connect((nats_url,), name="test-reader")
    try:
        return int((await nc.jetstream().stream_info(names.stream(stream))).state.messages)
    finally:
        await nc.close()


async def test_replicas_take_over_a_killed_one_and_apply_every_event_exactly_once(
    orders: list[ServiceProcess], db: asyncpg.Connection, sim: Sim, nats_url: str, names: Names
) -> None:
    dsn = orders[0].env["SOLEFLIP_DATABASE_URL"]
    nc = await connect((nats_url,), name="test-publisher")
    try:
        await ensure_streams(nc.jetstream(), names, specs=[stream_spec("INGEST")])
        await start_all(orders)
        leader = await wait_for_leader(dsn, leader_key(names, "orders", "pollers"), orders)

        async def polled_twice() -> bool:
            return len(call_times(sim, ORDER_POLL_PATHS[0])) >= 2

        await until(polled_twice, 15, what="two polls before the burst", interval=0.2)
        killed_at = await publish_with_kill(Publisher(nc.jetstream(), names), db, leader)
    finally:
        await nc.close()
    survivors = [p for p in orders if p is not leader]

    async def all_applied() -> bool:
        assert all(p.running for p in survivors), "\n".join(p.tail() for p in survivors)
        return int(await db.fetchval(INBOX_SQL)) >= EVENTS

    await until(all_applied, APPLY_TIMEOUT_S, what="every event applied", interval=0.2)
    # Polls after the takeover show the new leader's cadence.
    await until(
        lambda: _after(sim, killed_at, 3),
        TAKEOVER_S + 6,
        what="three polls after the kill",
        interval=0.2,
    )
    # The lock itself moved to a survivor (not merely someone polling without it).
    await wait_for_leader(dsn, leader_key(names, "orders", "pollers"), survivors)

    assert int(await db.fetchval(INBOX_SQL)) == EVENTS
    completed = """SELECT count(*) FROM "order" WHERE status = 'COMPLETED'"""
    assert await db.fetchval(completed) == ORDERS
    assert await db.fetchval('SELECT count(*) FROM "order"') == ORDERS
    history = "SELECT count(*), count(DISTINCT (order_number, status)) FROM order_status_history"
    facts = ORDERS * len(ORDER_STATUSES)
    assert tuple(await db.fetchrow(history) or ()) == (facts, facts)
    done = "SELECT count(*) FROM listing WHERE status = 'COMPLETED'"
    assert await db.fetchval(done) == LISTINGS

    for path in ORDER_POLL_PATHS:
        assert_one_poller(call_times(sim, path), killed_at, path)

    async def outbox_published() -> bool:
        unpublished = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        return int(await db.fetchval(unpublished)) == 0

    await until(outbox_published, 15, what="the outbox published", interval=0.2)
    outbox = int(await db.fetchval("SELECT count(*) FROM outbox"))
    assert outbox > 0
    assert await stream_messages(nats_url, names, "ORDERS") == outbox, "an outbox row twice"
    assert await stream_messages(nats_url, names, "DLQ") == 0


async def _after(sim: Sim, killed_at: float, polls: int) -> bool:
    return len([t for t in call_times(sim, ORDER_POLL_PATHS[0]) if t >= killed_at]) >= polls
