"""`catalog-ingest` in a real runtime: idempotent, enrich on demand, poison to the DLQ."""

from __future__ import annotations

import asyncio
from typing import Any

from soleflip.catalog.consumers import INGEST_DURABLE
from soleflip.catalog.service import CatalogService
from soleflip.common.bus import list_dead_letters
from soleflip.common.contracts import CloudEvent, new_event
from soleflip.common.contracts.catalog import UPSERTED
from tests.integration.catalog.support import purchase, send
from tests.support.sim import Sim
from tests.support.wait import until

PRODUCTS_SQL = "SELECT stockx_product_id FROM product ORDER BY 1"
UPSERTS_SQL = "SELECT count(*) FROM outbox WHERE subject = $1"
VARIANTS_SQL = "SELECT count(*) FROM variant"
JOBS_SQL = "SELECT status FROM enrichment_job"


def _product_event(product: dict[str, Any]) -> CloudEvent:
    return new_event("stockx.product.updated", product, source="test")


async def test_a_redelivered_product_event_is_applied_once(
    catalog: CatalogService, sim: Sim
) -> None:
    sim.seed(9, 15)
    product = sim.products()[3]
    event = _product_event(product)
    for copy in range(3):  # distinct message ids: only the inbox can tell they are one event
        await send(catalog, "ingest.stockx.product.updated", event, copy)
    pool = catalog.runtime.pool
    await until(lambda: _count(pool, PRODUCTS_SQL, 1), 15)
    await asyncio.sleep(0.5)  # give the two copies time to (not) act
    assert [r[0] for r in await pool.fetch(PRODUCTS_SQL)] == [product["productId"]]
    assert await pool.fetchval(UPSERTS_SQL, UPSERTED) == 1
    assert await pool.fetchval(VARIANTS_SQL) == len(product["variants"])


async def test_poison_event_goes_to_the_dead_letter_queue(
    catalog: CatalogService, sim: Sim
) -> None:
    await catalog.runtime.publisher.publish(
        "ingest.stockx.product.updated", b'{"not": "an event"', msg_id="poison-1"
    )
    js, names = catalog.runtime.js, catalog.runtime.names

    async def dead() -> bool:
        return bool(await list_dead_letters(js, names, INGEST_DURABLE))

    await until(dead, 15)
    assert await catalog.runtime.pool.fetchval("SELECT count(*) FROM product") == 0


async def test_enrichment_request_event_runs_a_job(catalog: CatalogService, sim: Sim) -> None:
    sim.seed(9, 15)
    skus = ["DD1391-100", "CP9654", "DD1391-101"]
    event = new_event("catalog.enrichment.requested", {"skus": skus}, source="n8n")
    await send(catalog, "ingest.catalog.enrichment.requested", event)
    pool = catalog.runtime.pool

    async def done() -> bool:
        return [r[0] for r in await pool.fetch(JOBS_SQL)] == ["done"]

    await until(done, 15)
    assert await pool.fetchval("SELECT count(*) FROM product") == 2


async def _count(pool: Any, sql: str, expected: int) -> bool:
    return len(await pool.fetch(sql)) >= expected


async def test_a_purchase_of_an_unknown_sku_enriches_it_once(
    catalog: CatalogService, sim: Sim
) -> None:
    sim.seed(9, 15)
    event = new_event("inventory.item.purchased", purchase("b75806"), source="n8n")
    second = new_event("inventory.item.purchased", purchase("b75806"), source="n8n")
    await send(catalog, "ingest.inventory.item.purchased", event)
    await send(catalog, "ingest.inventory.item.purchased", second)
    pool = catalog.runtime.pool
    await until(lambda: _count(pool, PRODUCTS_SQL, 1), 15)
    await asyncio.sleep(0.3)
    assert await pool.fetchval("SELECT style_id FROM product") == "B75806"
    assert [r["path"] for r in sim.requests()].count("/v2/catalog/search") == 1
