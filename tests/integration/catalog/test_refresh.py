"""The refresh poller: fresh data for old products, and 404-stale StockX ids remapped."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import msgspec

from soleflip.catalog import queries
from soleflip.catalog.consumers import CatalogConsumers
from soleflip.catalog.pollers import refresh_round
from soleflip.common.contracts import CloudEvent, new_event
from soleflip.common.contracts.catalog import REMAPPED, UPSERTED, RemapData
from soleflip.common.stockx import StockXClient
from tests.integration.catalog.support import catalog_over, enrich_sku, enriched, message
from tests.support.sim import Sim

OUTBOX_SQL = "SELECT subject, payload FROM outbox ORDER BY id"
PRODUCT_SUBJECT = "ingest.stockx.product.updated"


def _relayed(product: dict[str, Any]) -> CloudEvent:
    return new_event("stockx.product.updated", product, source="relay")


async def _enrich_then_rekey(
    pool: asyncpg.Pool, stockx: StockXClient, sim: Sim, sku: str
) -> tuple[queries.ProductView, str]:
    """Enrich `sku` from a fresh simulator catalog, then have StockX give it a new id."""
    sim.seed(3, 20)
    product_id = await enriched(pool, stockx, sku)
    async with pool.acquire() as conn:
        before = await queries.product(conn, product_id)
    assert before is not None
    return before, sim.stale([before.stockx_product_id])[before.stockx_product_id]


async def test_stale_product_id_is_remapped_by_style_id_and_announced(
    pool: asyncpg.Pool, stockx: StockXClient, sim: Sim
) -> None:
    before, new_id = await _enrich_then_rekey(pool, stockx, sim, "DD1391-100")
    product_id = before.id

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
    await enriched(pool, stockx, "CP9654")
    sim.clear_requests()
    assert sum((await refresh_round(pool, stockx, ttl_s=3600)).values()) == 0
    assert sim.requests() == []


async def test_re_enriching_a_stale_product_remaps_it_instead_of_duplicating_it(
    pool: asyncpg.Pool, stockx: StockXClient, sim: Sim
) -> None:
    before, new_id = await _enrich_then_rekey(pool, stockx, sim, "B75806")
    product_id = before.id

    outcome = await enrich_sku(pool, stockx, "B75806", ttl_s=0)

    assert outcome.product_id == product_id
    async with pool.acquire() as conn:
        found = await queries.products_by_sku(conn, "B75806")
        subjects = [r["subject"] for r in await conn.fetch(OUTBOX_SQL)]
    assert [(p.id, p.stockx_product_id) for p in found] == [(product_id, new_id)]
    assert subjects.count(REMAPPED) == 1


def _extra_variant(product: dict[str, Any]) -> dict[str, Any]:
    """A variant StockX does not (or no longer) list: a size 99 with its own barcode."""
    chart = {
        "availableConversions": [{"size": "US M 99", "type": "us m"}],
        "defaultConversion": {"size": "99", "type": "us m"},
    }
    return {
        "productId": product["productId"],
        "variantId": str(uuid.uuid4()),
        "variantValue": "99",
        "sizeChart": chart,
        "gtins": [{"identifier": "00000000009999", "type": "UPC"}],
    }


async def test_a_full_refresh_retires_variants_stockx_no_longer_lists(
    pool: asyncpg.Pool, stockx: StockXClient, sim: Sim
) -> None:
    sim.seed(3, 20)
    product = sim.products()[2]
    extra = _extra_variant(product)
    relayed = {**product, "variants": [*product["variants"][:2], extra]}  # a relay's partial list
    consumers = CatalogConsumers(catalog_over(pool, stockx))
    await consumers.handle_ingest(message(PRODUCT_SUBJECT, _relayed(relayed)))
    async with pool.acquire() as conn:
        stored = await queries.product(conn, product["productId"])
        assert stored is not None
        extra_id = next(v.id for v in stored.variants or [] if v.variant_value == "99")

    assert await refresh_round(pool, stockx, ttl_s=0) == {"refreshed": 1}  # StockX's full list

    async with pool.acquire() as conn:
        after = await queries.product(conn, stored.id)
        retired = await queries.variant(conn, extra_id)
        by_size = await queries.variant_ids_by_size(conn, stored.id, "us m", "99")
        by_size_route = await queries.product_variants_by_size(conn, stored.id, "us m", "99")
        by_gtin = await queries.variant_by_gtin(conn, "00000000009999")
    assert after is not None
    assert sorted(v.stockx_variant_id for v in after.variants or []) == sorted(
        v["variantId"] for v in product["variants"]
    )
    assert retired is not None  # still there for whoever holds its id
    assert retired.retired_at is not None
    assert by_size == by_size_route == []
    assert by_gtin is None
