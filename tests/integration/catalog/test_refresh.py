"""The refresh poller: fresh data for old products, and 404-stale StockX ids remapped."""

from __future__ import annotations

import asyncpg
import msgspec

from soleflip.catalog import queries
from soleflip.catalog.handlers import enrich_sku
from soleflip.catalog.pollers import refresh_round
from soleflip.catalog.testing import Sim
from soleflip.common.contracts.catalog import REMAPPED, UPSERTED, RemapData
from soleflip.common.stockx import StockXClient

OUTBOX_SQL = "SELECT subject, payload FROM outbox ORDER BY id"


async def _enrich(pool: asyncpg.Pool, stockx: StockXClient, sku: str) -> str:
    outcome = await enrich_sku(pool, stockx, sku, ttl_s=3600)
    assert outcome.product_id is not None
    return outcome.product_id


async def test_stale_product_id_is_remapped_by_style_id_and_announced(
    pool: asyncpg.Pool, stockx: StockXClient, sim: Sim
) -> None:
    sim.seed(3, 20)
    product_id = await _enrich(pool, stockx, "DD1391-100")
    async with pool.acquire() as conn:
        before = await queries.product(conn, product_id)
    assert before is not None
    new_id = sim.stale([before.stockx_product_id])[before.stockx_product_id]

    outcomes = await refresh_round(pool, stockx, ttl_s=0)

    assert outcomes["remapped"] == 1
    async with pool.acquire() as conn:
        after = await queries.product(conn, product_id)
        events = await conn.fetch(OUTBOX_SQL)
    assert after is not None
    assert after.stockx_product_id == new_id
    assert [v.id for v in after.variants or []] == [v.id for v in before.variants or []]
    remaps = [msgspec.json.decode(e["payload"]) for e in events if e["subject"] == REMAPPED]
    assert [msgspec.convert(r["data"], RemapData) for r in remaps] == [
        RemapData(
            product_id=product_id,
            old_stockx_product_id=before.stockx_product_id,
            new_stockx_product_id=new_id,
            style_id="DD1391-100",
        )
    ]
    assert [e["subject"] for e in events].count(UPSERTED) == 2  # enrich, then refresh


async def test_fresh_products_are_not_refreshed(
    pool: asyncpg.Pool, stockx: StockXClient, sim: Sim
) -> None:
    sim.seed(3, 20)
    await _enrich(pool, stockx, "CP9654")
    sim.clear_requests()
    assert sum((await refresh_round(pool, stockx, ttl_s=3600)).values()) == 0
    assert sim.requests() == []


async def test_re_enriching_a_stale_product_remaps_it_instead_of_duplicating_it(
    pool: asyncpg.Pool, stockx: StockXClient, sim: Sim
) -> None:
    sim.seed(3, 20)
    product_id = await _enrich(pool, stockx, "B75806")
    async with pool.acquire() as conn:
        before = await queries.product(conn, product_id)
    assert before is not None
    new_id = sim.stale([before.stockx_product_id])[before.stockx_product_id]

    outcome = await enrich_sku(pool, stockx, "B75806", ttl_s=0)

    assert outcome.product_id == product_id
    async with pool.acquire() as conn:
        found = await queries.products_by_sku(conn, "B75806")
        subjects = [r["subject"] for r in await conn.fetch(OUTBOX_SQL)]
    assert [(p.id, p.stockx_product_id) for p in found] == [(product_id, new_id)]
    assert subjects.count(REMAPPED) == 1
