"""Three `soleflip serve catalog` replicas on one NATS and Postgres; one is killed mid-burst.

The replicas share `catalog-ingest`. A burst of product events (ten versions of each of 60
products, StockX variants included, so no StockX call) and enrichment requests goes to INGEST
while the refresh poller works through 100 products made stale; the replica leading the refresh
is killed with SIGKILL. Afterwards every event was applied exactly once (inbox, each product at
its newest version, one job per request), and no product was refreshed twice: one refresh
poller at a time, before and after the kill (a second poller would fetch the same oldest
products again).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from soleflip.common.bus import Names, Outgoing, Publisher
from tests.reliability._procs import ServiceProcess
from tests.reliability._replicas import ReplicaSet, cloud_event, replica_set
from tests.support.sim import Sim
from tests.support.wait import until

pytestmark = pytest.mark.slow

STALE, VERSIONED, ENRICHED = 100, 60, 40  # products per role, disjoint
VERSIONS = 10
SKUS_PER_REQUEST = 2
REQUESTS = ENRICHED // SKUS_PER_REQUEST
BURST = VERSIONED * VERSIONS + REQUESTS
POLL_INTERVAL_S = 2.0
JOB_CONCURRENCY = 4  # catalog's default: items in flight in one job runner
#: The ack wait (30 s) brings back the message the killed replica held, then some slack.
APPLY_TIMEOUT_S = 50.0
INBOX_SQL = "SELECT count(*) FROM inbox WHERE consumer = 'catalog-ingest'"
AGE_SQL = """
UPDATE product SET last_enriched_at = now() - interval '8 days' WHERE stockx_product_id = ANY($1)
"""
FRESH_SQL = """
SELECT count(*) FROM product
WHERE stockx_product_id = ANY($1) AND last_enriched_at > now() - interval '1 day'
"""


@pytest.fixture
async def cluster(
    fresh_database: str, nats_url: str, names: Names, tmp_path: Path
) -> AsyncIterator[ReplicaSet]:
    async with replica_set(
        "catalog", dsn=fresh_database, nats_url=nats_url, names=names, logs=tmp_path,
        seed=21, products=260, SOLEFLIP_POLL_INTERVAL_S=str(POLL_INTERVAL_S),
    ) as replicas:  # fmt: skip
        yield replicas


def product_event(product: dict[str, Any], at: datetime, title: str | None = None) -> Outgoing:
    """A relayed product with its variants, as ingest would put it on INGEST."""
    data = {**product, "title": title or product["title"]}
    return _event("stockx.product.updated", data, at)


def _event(type_: str, data: Any, at: datetime) -> Outgoing:
    return cloud_event(f"ingest.{type_}", type_, data, at)


def burst(versioned: list[dict[str, Any]], enriched: list[dict[str, Any]]) -> list[Outgoing]:
    """Every product's versions in order of time, requests interleaved."""
    start = datetime.now(UTC)
    events = [
        product_event(p, start + timedelta(seconds=v), f"{p['title']} v{v}")
        for v in range(VERSIONS)
        for p in versioned
    ]
    skus = [p["styleId"] for p in enriched]
    requests = [
        _event("catalog.enrichment.requested", {"skus": skus[i : i + SKUS_PER_REQUEST]}, start)
        for i in range(0, len(skus), SKUS_PER_REQUEST)
    ]
    step = len(events) // len(requests)
    for n, request in enumerate(requests):
        events.insert(n * (step + 1), request)
    return events


async def publish_with_kill(
    publisher: Publisher, cluster: ReplicaSet, events: list[Outgoing], victim: ServiceProcess
) -> None:
    """Publish in chunks; SIGKILL `victim` once a third is out and being consumed."""
    chunk = 100
    for start in range(0, len(events), chunk):
        await publisher.publish_many(events[start : start + chunk])
        if start == 200:
            await cluster.kill_when_consuming(victim, INBOX_SQL)


def products(sim: Sim) -> tuple[list[dict[str, Any]], ...]:
    """Disjoint products (distinct style ids) for refresh, versions and enrichment."""
    found, seen = [], set()
    for product in sim.products():
        if product.get("styleId") and product["styleId"] not in seen and product["variants"]:
            seen.add(product["styleId"])
            found.append(product)
    assert len(found) >= STALE + VERSIONED + ENRICHED, "seed more simulator products"
    return (
        found[:STALE],
        found[STALE : STALE + VERSIONED],
        found[STALE + VERSIONED : STALE + VERSIONED + ENRICHED],
    )


async def test_replicas_take_over_a_killed_one_and_refresh_each_product_once(
    cluster: ReplicaSet,
) -> None:
    db, sim = cluster.db, cluster.sim
    stale, versioned, enriched = products(sim)
    stale_ids = [p["productId"] for p in stale]
    async with cluster.started("INGEST") as publisher:
        await publisher.publish_many([product_event(p, datetime.now(UTC)) for p in stale])

        async def known() -> bool:
            return int(await db.fetchval(INBOX_SQL)) == STALE

        await until(known, 30, what="the products to refresh are known", interval=0.1)
        sim.clear_requests()
        await db.execute(AGE_SQL, stale_ids)  # now due: 20 per round, oldest first
        leader = await cluster.leader("refresh")

        async def refreshing() -> bool:
            return int(await db.fetchval(FRESH_SQL, stale_ids)) > 0

        await until(refreshing, 15, what="the refresh poller starts", interval=0.05)
        await publish_with_kill(publisher, cluster, burst(versioned, enriched), leader)
        killed_at = time.monotonic()
    survivors = cluster.survivors(leader)

    async def settled() -> bool:
        applied = int(await db.fetchval(INBOX_SQL)) >= STALE + BURST
        refreshed = int(await db.fetchval(FRESH_SQL, stale_ids)) == STALE
        jobs = "SELECT count(*) FROM enrichment_item WHERE status = 'pending'"
        return applied and refreshed and await db.fetchval(jobs) == 0

    await cluster.wait_applied(
        survivors, settled, APPLY_TIMEOUT_S, what="everything applied, refreshed and enriched"
    )
    assert time.monotonic() - killed_at < APPLY_TIMEOUT_S
    await cluster.leader("refresh", among=survivors)

    assert int(await db.fetchval(INBOX_SQL)) == STALE + BURST
    rows = await db.fetch("SELECT stockx_product_id, title FROM product")
    titles: dict[str, str] = {row[0]: row[1] for row in rows}
    assert len(titles) == STALE + VERSIONED + ENRICHED
    newest = {p["productId"]: f"{p['title']} v{VERSIONS - 1}" for p in versioned}
    assert {k: titles[k] for k in newest} == newest, "a product is not at its newest version"
    assert await db.fetchval("SELECT count(*) FROM enrichment_job") == REQUESTS
    resolved = "SELECT count(*) FROM enrichment_item WHERE status = 'resolved'"
    assert await db.fetchval(resolved) == ENRICHED

    calls = Counter(r["path"] for r in sim.requests())
    repeats = sum(calls[f"/v2/catalog/products/{pid}"] - 1 for pid in stale_ids)
    assert all(calls[f"/v2/catalog/products/{pid}"] >= 1 for pid in stale_ids)
    # Only the product in the killed leader's hands may be fetched again.
    assert repeats <= 1, f"{repeats} products refreshed twice: more than one refresh poller"
    # Only SKUs in the job runner's hands at the kill may be searched again.
    assert ENRICHED <= calls["/v2/catalog/search"] <= ENRICHED + JOB_CONCURRENCY
