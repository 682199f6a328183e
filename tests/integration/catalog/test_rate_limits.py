"""A StockX that rate-limits harder than the client's configured rate (another tool on the key, a
rate set too high): 429s slow the shared budget down and every SKU of a job is still enriched,
none `failed` for a rate limit."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import msgspec
import pytest

from soleflip.catalog import jobs, queries
from soleflip.common.bus import Names, connect, disconnect
from soleflip.common.settings import Settings
from soleflip.common.stockx import BUDGET_BUCKET, BudgetState, StockXClient, budget_key
from tests.support.sim import Sim, settings_for


@pytest.fixture
def strict_sim() -> Iterator[Sim]:
    from soleflip.stockx_sim.process import served_simulator

    with served_simulator(rate_per_s=1) as url:
        yield Sim(url)


async def test_429s_slow_the_budget_down_and_no_item_fails_for_a_rate_limit(
    pool: asyncpg.Pool, catalog_settings: Settings, names: Names, strict_sim: Sim
) -> None:
    strict_sim.seed(11, 30)
    skus = [p["styleId"] for p in strict_sim.products()[:8]]
    settings = msgspec.structs.replace(
        settings_for(catalog_settings.database_url, catalog_settings.nats_url[0], names,
                     strict_sim.url),
        stockx_rate_per_s=10.0,  # ten times what this StockX allows
    )  # fmt: skip
    nc = await connect(settings.nats_url, name="catalog-test")
    try:
        async with await StockXClient.connect(settings, nc.jetstream(), names=names) as client:
            async with pool.acquire() as conn:
                job_id, total = await jobs.create_job(conn, skus)
            await jobs.run_job(pool, client, job_id, ttl_s=3600.0, concurrency=4)
        bucket = await nc.jetstream().key_value(names.bucket(BUDGET_BUCKET))
        record = await bucket.get(budget_key(settings.stockx_api_key))
    finally:
        await disconnect(nc)
    async with pool.acquire() as conn:
        status = await queries.job_status(conn, job_id)
    assert status is not None
    outcomes = {item["sku"]: item["status"] for item in status["items"]}
    assert "failed" not in outcomes.values(), status["items"]
    assert len(outcomes) == total
    assert status["status"] == "done"
    limited = [r for r in strict_sim.requests() if r["status"] == 429]
    assert limited  # StockX did push back, and the budget slowed down for everyone
    assert msgspec.json.decode(record.value, type=BudgetState).slow > 1.0
