"""StockX calls happen with no transaction open (budget waits would pin connections), and job
items are claimed so that a dead runner's items are taken over at once, a live one's never."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from soleflip.catalog import jobs
from soleflip.catalog.consumers import CatalogConsumers
from soleflip.catalog.pollers import refresh_round
from soleflip.common.contracts import new_event
from soleflip.common.db import session_connection
from soleflip.common.settings import Settings
from soleflip.common.stockx import StockXClient
from tests.integration.catalog.support import (
    WatchedSource,
    catalog_over,
    enrich_sku,
    message,
    purchase,
)
from tests.support.sim import Sim

ITEMS_SQL = "SELECT position, status FROM enrichment_item ORDER BY position"
CLAIM_SQL = "UPDATE enrichment_item SET claimed_by = $2 WHERE position = $1"
LOCK_SQL = "SELECT pg_advisory_lock($1::bigint)"
LIVE_RUNNER, DEAD_RUNNER = 4242, 4343


@pytest.fixture
async def watched(catalog_settings: Settings, stockx: StockXClient) -> AsyncIterator[WatchedSource]:
    watcher = await asyncpg.connect(catalog_settings.database_url)
    try:
        yield WatchedSource(stockx, watcher)
    finally:
        await watcher.close()


async def _job(pool: asyncpg.Pool, skus: list[str]) -> str:
    async with pool.acquire() as conn:
        job_id, _ = await jobs.create_job(conn, skus)
    return job_id


async def test_job_workers_call_stockx_with_no_transaction_open(
    pool: asyncpg.Pool, watched: WatchedSource, sim: Sim
) -> None:
    sim.seed(9, 15)
    job_id = await _job(pool, ["DD1391-100", "CP9654", "DD1391-101"])
    # One worker: any transaction seen during a call is then that worker's own.
    await jobs.run_job(pool, watched, job_id, ttl_s=3600, concurrency=1)
    assert len(watched.open_at_call) == 3 + 2 * 2  # three searches, two products found
    assert set(watched.open_at_call) == {0}
    assert {r["status"] for r in await pool.fetch(ITEMS_SQL)} == {"resolved", "unresolved"}


async def test_refresh_and_remap_call_stockx_with_no_transaction_open(
    pool: asyncpg.Pool, stockx: StockXClient, watched: WatchedSource, sim: Sim
) -> None:
    sim.seed(3, 20)
    for sku in ("DD1391-100", "CP9654"):
        await enrich_sku(pool, stockx, sku, ttl_s=3600)
    stale = await pool.fetchval("SELECT stockx_product_id FROM product WHERE style_id = 'CP9654'")
    sim.stale([stale])
    outcomes = await refresh_round(pool, watched, ttl_s=0)
    assert outcomes == {"refreshed": 1, "remapped": 1}
    assert watched.open_at_call
    assert set(watched.open_at_call) == {0}


async def test_consumers_call_stockx_with_no_transaction_open(
    pool: asyncpg.Pool, watched: WatchedSource, sim: Sim
) -> None:
    sim.seed(9, 15)
    product = sim.products()[4]
    bare = {k: v for k, v in product.items() if k != "variants"}  # variants must be fetched
    consumers = CatalogConsumers(catalog_over(pool), stockx=lambda: watched)
    updated = new_event("stockx.product.updated", bare, source="relay")
    bought = new_event("inventory.item.purchased", purchase("B75806"), source="n8n")
    order = {
        "order_number": "O-1",
        "status": "CREATED",
        "product_id": sim.products()[6]["productId"],
    }
    ordered = new_event("orders.order.upserted", order, source="soleflip.orders")
    await consumers.handle_ingest(message("ingest.stockx.product.updated", updated))
    await consumers.handle_ingest(message("ingest.inventory.item.purchased", bought))
    await consumers.handle_orders(message("orders.order.upserted", ordered))
    assert len(watched.open_at_call) == 1 + 3 + 2
    assert set(watched.open_at_call) == {0}
    assert await pool.fetchval("SELECT count(*) FROM product") == 3


async def test_a_dead_runners_items_are_taken_over_and_a_live_ones_are_not(
    pool: asyncpg.Pool, stockx: StockXClient, sim: Sim
) -> None:
    sim.seed(9, 15)
    job_id = await _job(pool, ["DD1391-100", "CP9654", "B75806"])
    await pool.execute(CLAIM_SQL, 0, LIVE_RUNNER)
    await pool.execute(CLAIM_SQL, 1, DEAD_RUNNER)
    async with session_connection(pool) as live:  # a runner elsewhere, alive: it holds its lock
        await live.execute(LOCK_SQL, LIVE_RUNNER)
        await jobs.run_job(pool, stockx, job_id, ttl_s=3600, concurrency=2)
        statuses = [r["status"] for r in await pool.fetch(ITEMS_SQL)]
        assert statuses == ["pending", "resolved", "resolved"]
    # its session's lock went with the reset: the runner "died"
    await jobs.run_job(pool, stockx, job_id, ttl_s=3600, concurrency=2)
    assert [r["status"] for r in await pool.fetch(ITEMS_SQL)] == ["resolved"] * 3
    assert await pool.fetchval("SELECT status FROM enrichment_job") == "done"
