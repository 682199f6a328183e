"""Helpers shared by the catalog integration tests: one SKU enriched outside any job, a StockX
source that watches the database while each call is made, consumer messages built without a
server, and waiting for a running catalog's consumers."""

from __future__ import annotations

from typing import Any, cast

import asyncpg
from nats.aio.msg import Msg
from opentelemetry.context import Context

from soleflip.catalog.handlers import (
    PRIORITY,
    CatalogSource,
    EnrichOutcome,
    plan_sku,
    write_enrichment,
)
from soleflip.catalog.service import CatalogService
from soleflip.catalog.settings import CatalogSettings
from soleflip.common.bus import Message
from soleflip.common.contracts import CloudEvent, encode_event
from soleflip.common.db import UnitOfWork
from soleflip.common.runtime import utc_now
from soleflip.common.stockx import (
    Priority,
    Product,
    ProductVariant,
    ProductVariantDetails,
    SearchPage,
    StockXClient,
)

# Connections of this database waiting inside a transaction: what a StockX call must not hold.
OPEN_TRANSACTIONS_SQL = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND state LIKE 'idle in transaction%'
"""


class _Opened:
    """What a started runtime offers the catalog's edges: an open pool and StockX client."""

    def __init__(self, pool: asyncpg.Pool, stockx: StockXClient | None) -> None:
        self.pool, self._stockx = pool, stockx

    @property
    def stockx(self) -> StockXClient:
        assert self._stockx is not None, "this test service has no StockX client"
        return self._stockx


def catalog_over(
    pool: asyncpg.Pool, stockx: StockXClient | None = None, *, ttl_s: float = 3600
) -> CatalogService:
    """A catalog service over the test's own pool (and StockX client), with nothing running in
    the background: consumers and pollers built from it touch only what the test hands in."""
    return CatalogService(cast(Any, _Opened(pool, stockx)), CatalogSettings(refresh_ttl_s=ttl_s))


class WatchedSource:
    """The real StockX client, counting the transactions open in the database at every call."""

    def __init__(self, client: StockXClient, watcher: asyncpg.Connection) -> None:
        self._client, self._watcher = client, watcher
        self.open_at_call: list[int] = []

    async def _watch(self) -> None:
        self.open_at_call.append(int(await self._watcher.fetchval(OPEN_TRANSACTIONS_SQL)))

    async def search_catalog(
        self,
        query: str,
        *,
        page_number: int = 1,
        page_size: int = 10,
        priority: Priority = PRIORITY,
    ) -> SearchPage:
        await self._watch()
        return await self._client.search_catalog(query, page_size=page_size, priority=priority)

    async def get_product(self, product_id: str, *, priority: Priority = PRIORITY) -> Product:
        await self._watch()
        return await self._client.get_product(product_id, priority=priority)

    async def get_product_variants(
        self, product_id: str, *, priority: Priority = PRIORITY
    ) -> list[ProductVariant]:
        await self._watch()
        return await self._client.get_product_variants(product_id, priority=priority)

    async def get_variants_by_gtin(
        self, gtin: str, *, priority: Priority = PRIORITY
    ) -> ProductVariantDetails:
        await self._watch()
        return await self._client.get_variants_by_gtin(gtin, priority=priority)


async def enrich_sku(
    pool: asyncpg.Pool, stockx: CatalogSource, sku: str, *, ttl_s: float
) -> EnrichOutcome:
    """Plan, then write and commit at once, as a job does for one item: one SKU enriched
    outside any job."""
    plan = await plan_sku(sku, pool=pool, stockx=stockx, now=utc_now(), ttl_s=ttl_s)
    async with UnitOfWork(pool) as uow:
        outcome = await write_enrichment(plan, conn=uow.conn)
        await uow.commit()
    return outcome


async def enriched(pool: asyncpg.Pool, stockx: StockXClient, sku: str) -> str:
    """Enrich one SKU that must resolve; the catalog's product id."""
    outcome = await enrich_sku(pool, stockx, sku, ttl_s=3600)
    assert outcome.product_id is not None
    return outcome.product_id


async def send(catalog: CatalogService, subject: str, event: CloudEvent, copy: int = 0) -> None:
    """Publish an event on the catalog runtime's NATS; `copy` gives a distinct message id."""
    await catalog.runtime.publisher.publish(
        subject, encode_event(event), msg_id=f"{event.id}-{copy}"
    )


def message(subject: str, event: CloudEvent | bytes) -> Message:
    """A delivered message as a consumer's handler sees it (no server, never settled)."""
    data = event if isinstance(event, bytes) else encode_event(event)
    return Message(
        subject=subject,
        data=data,
        headers={},
        event_id=None if isinstance(event, bytes) else event.id,
        num_delivered=1,
        stream_seq=1,
        otel_context=Context(),
        raw=cast(Msg, None),
    )


def purchase(sku: str, external_id: str = "p-1") -> dict[str, Any]:
    """An `inventory.item.purchased` payload for one unit of `sku`."""
    return {
        "sku": sku,
        "size": "9",
        "size_type": "us m",
        "quantity": 1,
        "unit_cost": {"amount": "80.00", "currency": "EUR"},
        "purchased_at": "2026-11-01T10:00:00Z",
        "supplier": "shop",
        "external_id": external_id,
    }
