"""Three `soleflip serve pricing` replicas on one NATS and Postgres; one is killed mid-burst.

The replicas share `pricing-market`. Four simulator products have an active listing (mirrored
from an ORDERS event), so the market poller refreshes each every 2 s. A burst of 2,000 market
events (one new variant each) goes to INGEST and the replica leading the poller is killed with
SIGKILL part-way. Afterwards every event was applied exactly once (inbox, one webhook snapshot
per event, one PRICING message per outbox row although three relays publish), and each listed
product was polled by one poller at a time, before and after the kill, at its interval.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest

from soleflip.common.bus import Names, Outgoing, Publisher, connect, ensure_streams, stream_spec
from soleflip.common.contracts import uuid7
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
LISTED = 4
EVENTS = 2000
CHUNK = 250
KILL_AFTER = 750
POLL_INTERVAL_S = 2.0
#: The poller keeps a steady cadence from each product's due time, so a late tick makes the
#: next gap shorter by up to a tick; two pollers a fixed offset apart always show a gap of at
#: most half the interval.
MIN_GAP_S = 0.5 * POLL_INTERVAL_S
TAKEOVER_S = 10.0  # a campaign every 5 s, then a product is due within one interval
APPLY_TIMEOUT_S = 50.0
INBOX_SQL = "SELECT count(*) FROM inbox WHERE consumer = 'pricing-market'"
SNAPSHOTS_SQL = """
SELECT count(*), count(DISTINCT variant_id) FROM market_snapshot
WHERE source = 'webhook' AND variant_id LIKE 'MV-%'
"""


@pytest.fixture
def sim() -> Iterator[Sim]:
    with simulator_process() as url:
        sim = Sim(url)
        sim.seed(31, 20)
        yield sim


@pytest.fixture
async def db(fresh_database: str) -> AsyncIterator[asyncpg.Connection]:
    async with migrated_db(fresh_database, "pricing") as conn:
        yield conn


@pytest.fixture
def pricing(
    fresh_database: str, nats_url: str, names: Names, sim: Sim, tmp_path: Path
) -> Iterator[list[ServiceProcess]]:
    env = service_env(
        fresh_database,
        nats_url,
        names,
        sim.url,
        SOLEFLIP_PRICING_MIN_POLL_INTERVAL_S=str(POLL_INTERVAL_S),
        SOLEFLIP_PRICING_POLL_TICK_S="0.25",
        # A budget so large that the minimum interval, not the budget, sets the cadence.
        SOLEFLIP_STOCKX_DAILY_BUDGET="100000000",
    )
    with replicas("pricing", env, REPLICAS, tmp_path) as procs:
        yield procs


def event(subject: str, type_: str, data: Any) -> Outgoing:
    event_id = uuid7()
    body = {"specversion": "1.0", "id": event_id, "source": "test", "type": type_,
            "time": datetime.now(UTC).isoformat(), "data": data}  # fmt: skip
    return Outgoing(subject, msgspec.json.encode(body), event_id)


def market(variant_id: str, product_id: str | None, ask: int) -> Outgoing:
    data = {"variantId": variant_id, "productId": product_id, "currencyCode": "EUR",
            "lowestAskAmount": str(ask), "highestBidAmount": str(ask - 10)}  # fmt: skip
    return event("ingest.stockx.market.updated", "stockx.market.updated", data)


def listed(products: list[dict[str, Any]]) -> list[Outgoing]:
    """A market observation (variant → product) and an active listing per product."""
    events = []
    for n, product in enumerate(products):
        variant = product["variants"][0]["variantId"]
        events.append(market(variant, product["productId"], 150))
        listing = {"listing_id": f"PL-{n}", "status": "ACTIVE", "variant_id": variant,
                   "product_id": product["productId"]}  # fmt: skip
        events.append(event("orders.listing.upserted", "orders.listing.upserted", listing))
    return events


async def publish_with_kill(
    publisher: Publisher, db: asyncpg.Connection, victim: ServiceProcess
) -> float:
    """The burst (a new variant per event) in chunks; SIGKILL `victim` mid-way. Kill time."""
    burst = [market(f"MV-{n:05d}", None, 100 + n % 50) for n in range(EVENTS)]
    killed_at = 0.0
    for start in range(0, EVENTS, CHUNK):
        await publisher.publish_many(burst[start : start + CHUNK])
        if start + CHUNK == KILL_AFTER:

            async def consuming() -> bool:
                return int(await db.fetchval(INBOX_SQL)) > LISTED

            await until(consuming, 30, what="the replicas consume", interval=0.01)
            victim.kill()
            killed_at = time.time()
    return killed_at


def assert_one_poller(times: list[float], killed_at: float, what: str) -> None:
    """Polls of one product: never closer than a poller allows, and resumed after the kill."""
    before = [t for t in times if t < killed_at]
    after = [t for t in times if t >= killed_at]
    assert len(before) >= 2, f"{what}: polled {len(before)} times before the kill"
    assert after, f"{what}: nobody polled after the leader was killed"
    takeover = after[0] - killed_at
    assert takeover < TAKEOVER_S, f"{what}: the first poll {takeover:.1f} s after the kill"
    for window in (before, after):
        short = [round(g, 2) for g in gaps(window) if g < MIN_GAP_S]
        assert not short, f"{what}: polls {short} s apart: more than one poller"


async def stream_messages(nats_url: str, names: Names, stream: str) -> int:
    nc = await connect((nats_url,), name="test-reader")
    try:
        return int((await nc.jetstream().stream_info(names.stream(stream))).state.messages)
    finally:
        await nc.close()


async def test_replicas_take_over_a_killed_one_and_poll_each_product_once_per_interval(
    pricing: list[ServiceProcess], db: asyncpg.Connection, sim: Sim, nats_url: str, names: Names
) -> None:
    dsn = pricing[0].env["SOLEFLIP_DATABASE_URL"]
    products = [p for p in sim.products() if p["variants"]][:LISTED]
    paths = [f"/v2/catalog/products/{p['productId']}/market-data" for p in products]
    nc = await connect((nats_url,), name="test-publisher")
    try:
        streams = [stream_spec("INGEST"), stream_spec("ORDERS")]
        await ensure_streams(nc.jetstream(), names, specs=streams)
        await start_all(pricing)
        publisher = Publisher(nc.jetstream(), names)
        await publisher.publish_many(listed(products))
        leader = await wait_for_leader(dsn, leader_key(names, "pricing", "market-poller"), pricing)

        async def polled_twice() -> bool:
            return all(len(call_times(sim, path)) >= 2 for path in paths)

        await until(polled_twice, 20, what="two polls of each listed product", interval=0.2)
        killed_at = await publish_with_kill(publisher, db, leader)
    finally:
        await nc.close()
    survivors = [p for p in pricing if p is not leader]

    async def all_applied() -> bool:
        assert all(p.running for p in survivors), "\n".join(p.tail() for p in survivors)
        return int(await db.fetchval(INBOX_SQL)) >= EVENTS + LISTED

    await until(all_applied, APPLY_TIMEOUT_S, what="every event applied", interval=0.2)

    async def polled_after() -> bool:
        return all(len([t for t in call_times(sim, p) if t > killed_at]) >= 3 for p in paths)

    await until(polled_after, TAKEOVER_S + 8, what="three polls of each product after the kill")
    await wait_for_leader(dsn, leader_key(names, "pricing", "market-poller"), survivors)

    assert int(await db.fetchval(INBOX_SQL)) == EVENTS + LISTED
    assert tuple(await db.fetchrow(SNAPSHOTS_SQL) or ()) == (EVENTS, EVENTS)
    for path in paths:
        assert_one_poller(call_times(sim, path), killed_at, path)

    async def outbox_published() -> bool:
        unpublished = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        return int(await db.fetchval(unpublished)) == 0

    await until(outbox_published, 15, what="the outbox published", interval=0.2)
    outbox = int(await db.fetchval("SELECT count(*) FROM outbox"))
    assert outbox >= EVENTS
    assert await stream_messages(nats_url, names, "PRICING") == outbox, "an outbox row twice"
    assert await stream_messages(nats_url, names, "DLQ") == 0
