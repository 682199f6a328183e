"""Relayed `stockx.product.updated` events: a re-keyed (404) id is resolved by style id or
ignored and counted, never dead-lettered; an older event never overwrites a newer snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import pytest
from prometheus_client import REGISTRY

from soleflip.catalog.consumers import INGEST_DURABLE, CatalogConsumers
from soleflip.common.contracts import CloudEvent, new_event
from soleflip.common.contracts.catalog import UPSERTED
from soleflip.common.stockx import StockXClient
from tests.integration.catalog.support import catalog_over, message
from tests.support.sim import Sim

SUBJECT = "ingest.stockx.product.updated"
PRODUCTS_SQL = "SELECT stockx_product_id, style_id FROM product"
TITLE_SQL = "SELECT title FROM product"
UPSERTS_SQL = "SELECT count(*) FROM outbox WHERE subject = $1"
INBOX_SQL = "SELECT count(*) FROM inbox WHERE consumer = $1 AND event_id = $2"


@pytest.fixture
def consumers(pool: asyncpg.Pool, stockx: StockXClient) -> CatalogConsumers:
    return CatalogConsumers(catalog_over(pool, stockx))


def _counted(outcome: str) -> float:
    found = REGISTRY.get_sample_value("soleflip_catalog_product_events_total", {"outcome": outcome})
    return found or 0.0


def _bare(product: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The product as a relay may send it: without variants."""
    return {**{k: v for k, v in product.items() if k != "variants"}, **changes}


async def test_a_rekeyed_unknown_product_is_found_by_its_style_id(
    consumers: CatalogConsumers, pool: asyncpg.Pool, sim: Sim
) -> None:
    sim.seed(9, 15)
    product = next(p for p in sim.products() if p["styleId"] == "CP9654")
    new_id = sim.stale([product["productId"]])[product["productId"]]
    before = _counted("resolved_by_style")
    event = new_event("stockx.product.updated", _bare(product), source="relay")

    await consumers.handle_ingest(message(SUBJECT, event))  # no StockXNotFound: no DLQ

    assert [tuple(r) for r in await pool.fetch(PRODUCTS_SQL)] == [(new_id, "CP9654")]
    assert _counted("resolved_by_style") == before + 1


async def test_a_rekeyed_unknown_product_without_style_id_is_ignored_and_counted(
    consumers: CatalogConsumers, pool: asyncpg.Pool, sim: Sim
) -> None:
    sim.seed(9, 15)
    product = sim.products()[2]
    sim.stale([product["productId"]])
    before = _counted("ignored")
    event = new_event("stockx.product.updated", _bare(product, styleId=None), source="relay")

    await consumers.handle_ingest(message(SUBJECT, event))

    assert await pool.fetch(PRODUCTS_SQL) == []
    assert _counted("ignored") == before + 1
    assert await pool.fetchval(INBOX_SQL, INGEST_DURABLE, event.id) == 1  # acked, done with


def _sent(product: dict[str, Any], at: datetime, title: str) -> CloudEvent:
    event = new_event("stockx.product.updated", {**product, "title": title}, source="relay")
    return msgspec.structs.replace(event, time=at)


async def test_a_late_older_product_event_does_not_overwrite_a_newer_snapshot(
    consumers: CatalogConsumers, pool: asyncpg.Pool, sim: Sim
) -> None:
    sim.seed(9, 15)
    product, now = sim.products()[3], datetime.now(UTC)
    await consumers.handle_ingest(message(SUBJECT, _sent(product, now, "Newer")))
    late = _sent(_bare(product), now - timedelta(minutes=5), "Older")
    before = REGISTRY.get_sample_value("soleflip_catalog_older_snapshots_total") or 0.0

    await consumers.handle_ingest(message(SUBJECT, late))

    assert await pool.fetchval(TITLE_SQL) == "Newer"
    assert await pool.fetchval(UPSERTS_SQL, UPSERTED) == 1  # nothing announced either
    assert REGISTRY.get_sample_value("soleflip_catalog_older_snapshots_total") == before + 1
    await consumers.handle_ingest(message(SUBJECT, _sent(product, now + timedelta(1), "Newest")))
    assert await pool.fetchval(TITLE_SQL) == "Newest"
