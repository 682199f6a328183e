"""The catalog's consumers in a real runtime: idempotent, enrich on demand, poison to the DLQ."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from soleflip.catalog.app import Catalog
from soleflip.catalog.consumers import INGEST_DURABLE
from soleflip.catalog.settings import CatalogSettings
from soleflip.catalog.testing import Sim
from soleflip.common.bus import list_dead_letters
from soleflip.common.contracts import CloudEvent, encode_event, new_event
from soleflip.common.contracts.catalog import UPSERTED
from soleflip.common.settings import Settings

PRODUCTS_SQL = "SELECT stockx_product_id FROM product ORDER BY 1"
UPSERTS_SQL = "SELECT count(*) FROM outbox WHERE subject = $1"
VARIANTS_SQL = "SELECT count(*) FROM variant"
JOBS_SQL = "SELECT status FROM enrichment_job"


@pytest.fixture
async def catalog(catalog_settings: Settings) -> AsyncIterator[Catalog]:
    catalog = Catalog(
        catalog_settings, CatalogSettings(refreshing=False, pool_size=6, fetch_timeout_s=0.4)
    )
    async with catalog.runtime.lifespan():
        yield catalog


async def _until(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    async with asyncio.timeout(within):
        # Polled: the database is the only witness of a consumer's commit.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def _send(catalog: Catalog, subject: str, event: CloudEvent, copy: int = 0) -> None:
    await catalog.runtime.publisher.publish(
        subject, encode_event(event), msg_id=f"{event.id}-{copy}"
    )


def _product_event(product: dict[str, Any]) -> CloudEvent:
    return new_event("stockx.product.updated", product, source="test")


async def test_a_redelivered_product_event_is_applied_once(catalog: Catalog, sim: Sim) -> None:
    sim.seed(9, 15)
    product = sim.products()[3]
    event = _product_event(product)
    for copy in range(3):  # distinct message ids: only the inbox can tell they are one event
        await _send(catalog, "ingest.stockx.product.updated", event, copy)
    pool = catalog.runtime.pool
    await _until(lambda: _count(pool, PRODUCTS_SQL, 1))
    await asyncio.sleep(0.5)  # give the two copies time to (not) act
    assert [r[0] for r in await pool.fetch(PRODUCTS_SQL)] == [product["productId"]]
    assert await pool.fetchval(UPSERTS_SQL, UPSERTED) == 1
    assert await pool.fetchval(VARIANTS_SQL) == len(product["variants"])


async def test_poison_event_goes_to_the_dead_letter_queue(catalog: Catalog, sim: Sim) -> None:
    await catalog.runtime.publisher.publish(
        "ingest.stockx.product.updated", b'{"not": "an event"', msg_id="poison-1"
    )
    js, names = catalog.runtime.js, catalog.runtime.names

    async def dead() -> bool:
        return bool(await list_dead_letters(js, names, INGEST_DURABLE))

    await _until(dead)
    assert await catalog.runtime.pool.fetchval("SELECT count(*) FROM product") == 0


async def test_an_order_for_an_unknown_product_enriches_it(catalog: Catalog, sim: Sim) -> None:
    sim.seed(9, 15)
    product = sim.products()[5]
    order = {"order_number": "O-1", "status": "CREATED", "product_id": product["productId"]}
    event = new_event("orders.order.upserted", order, source="soleflip.orders")
    await _send(catalog, "orders.order.upserted", event)
    await _until(lambda: _count(catalog.runtime.pool, PRODUCTS_SQL, 1))
    assert await catalog.runtime.pool.fetchval(VARIANTS_SQL) == len(product["variants"])


async def test_enrichment_request_event_runs_a_job(catalog: Catalog, sim: Sim) -> None:
    sim.seed(9, 15)
    skus = ["DD1391-100", "CP9654", "DD1391-101"]
    event = new_event("catalog.enrichment.requested", {"skus": skus}, source="n8n")
    await _send(catalog, "ingest.catalog.enrichment.requested", event)
    pool = catalog.runtime.pool

    async def done() -> bool:
        return [r[0] for r in await pool.fetch(JOBS_SQL)] == ["done"]

    await _until(done)
    assert await pool.fetchval("SELECT count(*) FROM product") == 2


async def _count(pool: Any, sql: str, expected: int) -> bool:
    return len(await pool.fetch(sql)) >= expected


async def test_a_purchase_of_an_unknown_sku_enriches_it_once(catalog: Catalog, sim: Sim) -> None:
    sim.seed(9, 15)
    purchase = {
        "sku": "b75806",
        "size": "9",
        "size_type": "us m",
        "quantity": 1,
        "unit_cost": {"amount": "80.00", "currency": "EUR"},
        "purchased_at": "2026-11-01T10:00:00Z",
        "supplier": "shop",
        "external_id": "p-1",
    }
    event = new_event("inventory.item.purchased", purchase, source="n8n")
    second = new_event("inventory.item.purchased", purchase, source="n8n")
    await _send(catalog, "ingest.inventory.item.purchased", event)
    await _send(catalog, "ingest.inventory.item.purchased", second)
    pool = catalog.runtime.pool
    await _until(lambda: _count(pool, PRODUCTS_SQL, 1))
    await asyncio.sleep(0.3)
    assert await pool.fetchval("SELECT style_id FROM product") == "B75806"
    assert [r["path"] for r in sim.requests()].count("/v2/catalog/search") == 1
