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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from soleflip.common.bus import Names, Outgoing, Publisher
from tests.reliability._procs import ServiceProcess, call_times
from tests.reliability._replicas import ReplicaSet, assert_one_poller, cloud_event, replica_set
from tests.support.wait import until

pytestmark = pytest.mark.slow

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
async def cluster(
    fresh_database: str, nats_url: str, names: Names, tmp_path: Path
) -> AsyncIterator[ReplicaSet]:
    async with replica_set(
        "pricing", dsn=fresh_database, nats_url=nats_url, names=names, logs=tmp_path,
        seed=31, products=20,
        SOLEFLIP_PRICING_MIN_POLL_INTERVAL_S=str(POLL_INTERVAL_S),
        SOLEFLIP_PRICING_POLL_TICK_S="0.25",
        # A budget so large that the minimum interval, not the budget, sets the cadence.
        SOLEFLIP_STOCKX_DAILY_BUDGET="100000000",
    ) as replicas:  # fmt: skip
        yield replicas


def market(variant_id: str, product_id: str | None, ask: int) -> Outgoing:
    data = {"variantId": variant_id, "productId": product_id, "currencyCode": "EUR",
            "lowestAskAmount": str(ask), "highestBidAmount": str(ask - 10)}  # fmt: skip
    return cloud_event("ingest.stockx.market.updated", "stockx.market.updated", data)


def listed(products: list[dict[str, Any]]) -> list[Outgoing]:
    """A market observation (variant → product) and an active listing per product."""
    events = []
    for n, product in enumerate(products):
        variant = product["variants"][0]["variantId"]
        events.append(market(variant, product["productId"], 150))
        listing = {"listing_id": f"PL-{n}", "status": "ACTIVE", "variant_id": variant,
                   "product_id": product["productId"]}  # fmt: skip
        events.append(cloud_event("orders.listing.upserted", "orders.listing.upserted", listing))
    return events


async def publish_with_kill(
    publisher: Publisher, cluster: ReplicaSet, victim: ServiceProcess
) -> float:
    """The burst (a new variant per event) in chunks; SIGKILL `victim` mid-way. Kill time."""
    burst = [market(f"MV-{n:05d}", None, 100 + n % 50) for n in range(EVENTS)]
    killed_at = 0.0
    for start in range(0, EVENTS, CHUNK):
        await publisher.publish_many(burst[start : start + CHUNK])
        if start + CHUNK == KILL_AFTER:
            await cluster.kill_when_consuming(victim, INBOX_SQL, above=LISTED)
            killed_at = time.time()
    return killed_at


async def test_replicas_take_over_a_killed_one_and_poll_each_product_once_per_interval(
    cluster: ReplicaSet,
) -> None:
    db, sim = cluster.db, cluster.sim
    products = [p for p in sim.products() if p["variants"]][:LISTED]
    paths = [f"/v2/catalog/products/{p['productId']}/market-data" for p in products]
    async with cluster.started("INGEST", "ORDERS") as publisher:
        await publisher.publish_many(listed(products))
        leader = await cluster.leader("market-poller")

        async def polled_twice() -> bool:
            return all(len(call_times(sim, path)) >= 2 for path in paths)

        await until(polled_twice, 20, what="two polls of each listed product", interval=0.2)
        killed_at = await publish_with_kill(publisher, cluster, leader)
    survivors = cluster.survivors(leader)

    async def all_applied() -> bool:
        return int(await db.fetchval(INBOX_SQL)) >= EVENTS + LISTED

    await cluster.wait_applied(survivors, all_applied, APPLY_TIMEOUT_S)

    async def polled_after() -> bool:
        return all(len([t for t in call_times(sim, p) if t > killed_at]) >= 3 for p in paths)

    await until(polled_after, TAKEOVER_S + 8, what="three polls of each product after the kill")
    await cluster.leader("market-poller", among=survivors)

    assert int(await db.fetchval(INBOX_SQL)) == EVENTS + LISTED
    assert tuple(await db.fetchrow(SNAPSHOTS_SQL) or ()) == (EVENTS, EVENTS)
    for path in paths:
        assert_one_poller(
            call_times(sim, path), killed_at, path, takeover_s=TAKEOVER_S, min_gap_s=MIN_GAP_S
        )

    assert await cluster.assert_outbox_published_once("PRICING") >= EVENTS
