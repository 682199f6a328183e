"""Enrichment against the simulator's tricky catalog: exact or unresolved, never a guess."""

from __future__ import annotations

import asyncpg

from soleflip.catalog import queries
from soleflip.common.stockx import StockXClient
from tests.integration.catalog.support import enrich_sku
from tests.support.sim import Sim

TTL = 3600.0


async def _enrich(pool: asyncpg.Pool, stockx: StockXClient, sku: str) -> tuple[str, str | None]:
    outcome = await enrich_sku(pool, stockx, sku, ttl_s=TTL)
    if outcome.product_id is None:
        return outcome.status, None
    async with pool.acquire() as conn:
        product = await queries.product(conn, outcome.product_id)
    assert product is not None
    return outcome.status, product.stockx_product_id


async def test_combined_code_resolves_by_either_code(
    pool: asyncpg.Pool, stockx: StockXClient, sim: Sim
) -> None:
    sim.seed(11, 30)
    af1 = next(p for p in sim.products() if p["styleId"] == "315122-111/CW2288-111")
    assert await _enrich(pool, stockx, "cw2288 111") == ("resolved", af1["productId"])
