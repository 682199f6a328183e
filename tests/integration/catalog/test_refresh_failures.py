"""One product StockX keeps failing on never stops the refresh poller: the others are refreshed in
the same round, the failing one is counted on its row and asked at most a bounded number of
times; a product StockX answers 404 for with no style-id match is flagged missing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from soleflip.catalog import queries
from soleflip.catalog.pollers import MAX_REFRESH_FAILURES, refresh_round
from soleflip.common.bus import Names, connect, disconnect
from soleflip.common.settings import Settings
from soleflip.common.stockx import ClientConfig, RetryPolicy, StockXClient
from tests.integration.catalog.support import enriched
from tests.support.sim import Sim

AGE_SQL = "UPDATE product SET last_enriched_at = $2 WHERE id = $1"
ROW_SQL = """
SELECT last_enriched_at, refresh_failures, refresh_error, stockx_missing_since
FROM product WHERE id = $1
"""


@pytest.fixture
async def plain_client(catalog_settings: Settings, names: Names) -> AsyncIterator[StockXClient]:
    """One attempt per call and a breaker that never opens: each round asks each product once."""
    config = ClientConfig(retry=RetryPolicy(max_attempts=1), breaker_threshold=10_000)
    nc = await connect(catalog_settings.nats_url, name="catalog-test")
    try:
        async with await StockXClient.connect(
            catalog_settings, nc.jetstream(), names=names, config=config
        ) as client:
            yield client
    finally:
        await disconnect(nc)


@pytest.fixture
def failing(sim: Sim) -> AsyncIterator[list[str]]:
    ids: list[str] = []
    yield ids
    sim.http.put("/_sim/faults", json={"failing_ids": []}).raise_for_status()


async def test_a_product_stockx_fails_on_is_bounded_and_never_stops_the_round(
    pool: asyncpg.Pool, plain_client: StockXClient, sim: Sim, failing: list[str]
) -> None:
    sim.seed(3, 20)
    ids = [
        await enriched(pool, plain_client, sku) for sku in ("DD1391-100", "CP9654", "DD1503-101")
    ]
    for age, product_id in enumerate(ids):  # the failing one is the oldest: asked first
        await pool.execute(AGE_SQL, product_id, datetime(2020, 1, 1 + age, tzinfo=UTC))
    async with pool.acquire() as conn:
        broken = await queries.product(conn, ids[0])
    assert broken is not None
    failing.append(broken.stockx_product_id)
    sim.http.put("/_sim/faults", json={"failing_ids": failing}).raise_for_status()
    sim.clear_requests()

    first = await refresh_round(pool, plain_client, ttl_s=3600)
    assert first == {"failed": 1, "refreshed": 2}
    for _ in range(MAX_REFRESH_FAILURES + 3):
        await refresh_round(pool, plain_client, ttl_s=0.0)

    asked = [r for r in sim.requests() if broken.stockx_product_id in r["path"]]
    assert len(asked) == MAX_REFRESH_FAILURES
    row = await pool.fetchrow(ROW_SQL, ids[0])
    assert row["refresh_failures"] == MAX_REFRESH_FAILURES
    assert "500" in row["refresh_error"]
    assert row["last_enriched_at"] == datetime(2020, 1, 1, tzinfo=UTC)
    for healthy in ids[1:]:  # refreshed every round meanwhile
        fresh = await pool.fetchrow(ROW_SQL, healthy)
        assert fresh["last_enriched_at"].year > 2020
        assert fresh["refresh_failures"] == 0

    failing.clear()
    sim.http.put("/_sim/faults", json={"failing_ids": []}).raise_for_status()
    await pool.execute("UPDATE product SET refresh_failures = 0 WHERE id = $1", ids[0])
    assert (await refresh_round(pool, plain_client, ttl_s=3600))["refreshed"] == 1
    assert (await pool.fetchrow(ROW_SQL, ids[0]))["refresh_error"] is None


async def test_a_lost_product_is_flagged_missing(
    pool: asyncpg.Pool, plain_client: StockXClient, sim: Sim
) -> None:
    sim.seed(3, 20)
    product_id = await enriched(pool, plain_client, "DD1391-100")
    await pool.execute(
        "UPDATE product SET stockx_product_id = $2, style_id = NULL WHERE id = $1",
        product_id, "00000000-0000-4000-8000-000000000000",
    )  # fmt: skip
    assert await refresh_round(pool, plain_client, ttl_s=0) == {"lost": 1}
    assert (await pool.fetchrow(ROW_SQL, product_id))["stockx_missing_since"] is not None
