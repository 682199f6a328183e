"""Three `soleflip serve orders` replicas on one NATS and Postgres; one is killed mid-burst.

A burst of 3,000 StockX order and listing events goes to INGEST while all three replicas share
the `orders-ingest` consumer. The replica leading the pollers is killed with SIGKILL part-way
through. The other two must take over: every event applied exactly once (inbox, rows, status
history, and one ORDERS message per outbox row although three relays publish), and the StockX
poll fallback run by one replica at a time, before and after the kill, at its interval.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from soleflip.common.bus import Names, Publisher
from tests.integration.orders.support import event, listing_resource, order_resource, publish_events
from tests.reliability._procs import ServiceProcess, call_times
from tests.reliability._replicas import ReplicaSet, replica_set
from tests.reliability._replicas import assert_one_poller as one_poller
from tests.support.sim import Sim
from tests.support.wait import until

pytestmark = pytest.mark.slow

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
#: Poll calls with one call per poll (the simulator holds no orders: one page each). History is
#: read only when an active order left the active list (or every 12 intervals), so not per poll.
ORDER_POLL_PATHS = ("/v2/selling/orders/active",)
PAYOUT = {"totalPayout": "81.80", "salePrice": "102.00", "currencyCode": "EUR"}


@pytest.fixture
async def cluster(
    fresh_database: str, nats_url: str, names: Names, tmp_path: Path
) -> AsyncIterator[ReplicaSet]:
    """Three orders replicas; the simulator has a catalog but no orders or listings, so polls
    find nothing to apply."""
    async with replica_set(
        "orders", dsn=fresh_database, nats_url=nats_url, names=names, logs=tmp_path,
        seed=5, products=5, SOLEFLIP_POLL_INTERVAL_S=str(POLL_INTERVAL_S),
    ) as replicas:  # fmt: skip
        yield replicas


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
    publisher: Publisher, cluster: ReplicaSet, leader: ServiceProcess
) -> float:
    """Publish the burst in chunks; SIGKILL `leader` once it has consumed some. Kill time."""
    events, killed_at = burst(), 0.0
    for start in range(0, len(events), CHUNK):
        await publish_events(publisher, events[start : start + CHUNK])
        if start + CHUNK == KILL_AFTER:
            await cluster.kill_when_consuming(leader, INBOX_SQL, above=0)
            killed_at = time.time()
    return killed_at


def assert_one_poller(times: list[float], killed_at: float, what: str) -> None:
    """One poll per interval at most, before and after the kill; the survivors take over.

    The times are when the simulator saw each poll's call, and a call may wait up to a second
    behind the leader's other polls for StockX's 1 request/s: two calls of one poller can come
    `POLL_INTERVAL_S` - 1 s apart, so the gap bound is half an interval, and the count per span
    is what rules out a second poller."""
    one_poller(times, killed_at, what, takeover_s=TAKEOVER_S, min_gap_s=0.5 * POLL_INTERVAL_S)
    for window in ([t for t in times if t < killed_at], [t for t in times if t >= killed_at]):
        span = window[-1] - window[0]
        # Polls start one interval apart (start to start): n polls span n - 1 intervals, give
        # or take when inside its poll the call was made.
        most = span / POLL_INTERVAL_S + 1.5
        assert len(window) <= most, f"{what}: {len(window)} polls in {span:.1f} s"


async def test_replicas_take_over_a_killed_one_and_apply_every_event_exactly_once(
    cluster: ReplicaSet,
) -> None:
    db, sim = cluster.db, cluster.sim
    async with cluster.started("INGEST") as publisher:
        leader = await cluster.leader("pollers")

        async def polled_twice() -> bool:
            return len(call_times(sim, ORDER_POLL_PATHS[0])) >= 2

        await until(polled_twice, 15, what="two polls before the burst", interval=0.2)
        killed_at = await publish_with_kill(publisher, cluster, leader)
    survivors = cluster.survivors(leader)

    async def all_applied() -> bool:
        return int(await db.fetchval(INBOX_SQL)) >= EVENTS

    await cluster.wait_applied(survivors, all_applied, APPLY_TIMEOUT_S)
    # Polls after the takeover show the new leader's cadence.
    await until(
        lambda: _after(sim, killed_at, 3),
        TAKEOVER_S + 6,
        what="three polls after the kill",
        interval=0.2,
    )
    # The lock itself moved to a survivor (not merely someone polling without it).
    await cluster.leader("pollers", among=survivors)

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

    assert await cluster.assert_outbox_published_once("ORDERS") > 0


async def _after(sim: Sim, killed_at: float, polls: int) -> bool:
    return len([t for t in call_times(sim, ORDER_POLL_PATHS[0]) if t >= killed_at]) >= polls
