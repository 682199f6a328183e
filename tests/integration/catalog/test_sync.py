"""`soleflip sync catalog --since DATE`: products last enriched before DATE are refreshed from
StockX, newer ones cost no call."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from soleflip.catalog import jobs
from soleflip.catalog.sync import _parser, run
from soleflip.common.settings import Settings
from soleflip.common.stockx import StockXClient
from tests.integration.catalog.support import enriched
from tests.support.sim import Sim

AGE_SQL = "UPDATE product SET last_enriched_at = $2 WHERE id = $1"
PRODUCT_SQL = "SELECT stockx_product_id, last_enriched_at FROM product WHERE id = $1"


async def test_sync_since_refreshes_only_products_enriched_before_the_date(
    pool: asyncpg.Pool, stockx: StockXClient, sim: Sim, catalog_settings: Settings
) -> None:
    sim.seed(3, 20)
    old, recent = [await enriched(pool, stockx, s) for s in ("DD1391-100", "CP9654")]
    await pool.execute(AGE_SQL, old, datetime(2020, 6, 1, tzinfo=UTC))
    await pool.execute(AGE_SQL, recent, datetime(2021, 6, 1, tzinfo=UTC))
    sim.clear_requests()

    args = _parser().parse_args(["catalog", "--since", "2021-01-01T00:00:00+00:00"])
    assert await run(catalog_settings, args) == 0

    old_row, recent_row = [await pool.fetchrow(PRODUCT_SQL, p) for p in (old, recent)]
    assert old_row is not None
    assert recent_row is not None
    assert sorted(r["path"] for r in sim.requests()) == [
        f"/v2/catalog/products/{old_row['stockx_product_id']}",
        f"/v2/catalog/products/{old_row['stockx_product_id']}/variants",
    ]
    assert old_row["last_enriched_at"] > datetime(2021, 6, 1, tzinfo=UTC)
    assert recent_row["last_enriched_at"] == datetime(2021, 6, 1, tzinfo=UTC)


async def test_sync_retry_failed_reruns_the_failed_items_of_a_job(
    pool: asyncpg.Pool, sim: Sim, catalog_settings: Settings
) -> None:
    sim.seed(3, 20)
    async with pool.acquire() as conn:
        job_id, _ = await jobs.create_job(conn, ["DD1391-100", "CP9654"])
    # As a job ended before 429s were retried: done, with its items failed for a rate limit.
    await pool.execute(
        "UPDATE enrichment_item SET status = 'failed', detail = 'StockXRateLimited',"
        " finished_at = now() WHERE job_id = $1",
        job_id,
    )
    await pool.execute("UPDATE enrichment_job SET status = 'done' WHERE id = $1", job_id)

    args = _parser().parse_args(["catalog", "--retry-failed"])
    assert await run(catalog_settings, args) == 0

    rows = await pool.fetch("SELECT sku, status FROM enrichment_item WHERE job_id = $1", job_id)
    assert {r["sku"]: r["status"] for r in rows} == {"DD1391-100": "resolved", "CP9654": "resolved"}
    assert await pool.fetchval("SELECT status FROM enrichment_job WHERE id = $1", job_id) == "done"
