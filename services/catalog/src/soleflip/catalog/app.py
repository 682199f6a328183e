"""Composition root of catalog: settings in, a Litestar app out (port 8001, schema `catalog`).

The runtime opens the pool, NATS (INGEST, CATALOG, ORDERS and DLQ streams), the StockX client
and the outbox relay; the catalog adds its two consumers, the leader-elected refresh poller and
job runner, and the REST controllers.
"""

from __future__ import annotations

import asyncpg
from litestar import Litestar
from litestar.di import Provide
from litestar.openapi.spec import Tag

from soleflip.catalog.consumers import (
    BATCH_SIZE,
    INGEST_DURABLE,
    INGEST_SUBJECTS,
    ORDERS_DURABLE,
    ORDERS_SUBJECTS,
    CatalogConsumers,
)
from soleflip.catalog.http import EnrichmentController, ProductController, VariantController
from soleflip.catalog.pollers import Background
from soleflip.catalog.settings import CatalogSettings
from soleflip.common.bus import ConsumerRunner
from soleflip.common.http import create_app as create_http_app
from soleflip.common.observability import configure_observability
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.settings import Settings

DEFAULT_PORT = 8001
SERVICE = "catalog"
STREAMS = ("INGEST", "CATALOG", "ORDERS", "DLQ")


class Catalog:
    """The runtime of one catalog process and what it runs, registered on it."""

    def __init__(self, settings: Settings, options: CatalogSettings | None = None) -> None:
        self.options = options or CatalogSettings.from_settings(settings)
        runtime = ServiceRuntime(
            SERVICE, settings, streams=STREAMS, pool_size=self.options.pool_size
        )
        self.runtime = runtime
        self.background = Background(
            pool=lambda: runtime.pool,
            stockx=lambda: runtime.stockx,
            ttl_s=self.options.refresh_ttl_s,
            interval_s=self.options.refresh_interval_s,
            concurrency=self.options.job_concurrency,
        )
        self.consumers = CatalogConsumers(
            pool=lambda: runtime.pool,
            stockx=lambda: runtime.stockx,
            ttl_s=self.options.refresh_ttl_s,
            on_job=self.background.wake,
        )
        runtime.add_consumer(
            lambda rt: self._consumer(rt, INGEST_DURABLE, INGEST_SUBJECTS, "INGEST")
        )
        runtime.add_consumer(
            lambda rt: self._consumer(rt, ORDERS_DURABLE, ORDERS_SUBJECTS, "ORDERS")
        )
        runtime.add_task("enrichment-jobs", lambda _rt: self.background.jobs_forever(), leader=True)
        if self.options.refreshing:
            runtime.add_task("refresh", lambda _rt: self.background.refresh_forever(), leader=True)

    def _consumer(
        self, rt: ServiceRuntime, durable: str, subjects: tuple[str, ...], stream: str
    ) -> ConsumerRunner:
        handler = (
            self.consumers.handle_ingest if stream == "INGEST" else self.consumers.handle_orders
        )
        return ConsumerRunner(
            rt.nc,
            rt.names,
            stream=stream,
            durable=durable,
            subjects=list(subjects),
            handler=handler,
            publisher=rt.publisher,
            # Enrichment on demand may wait long for the shared StockX budget: the runner keeps
            # the message in hand alive with in-progress acks, so take one at a time.
            batch_size=BATCH_SIZE,
            fetch_timeout=self.options.fetch_timeout_s,
        )

    def pool(self) -> asyncpg.Pool:
        return self.runtime.pool


def create_app(settings: Settings, options: CatalogSettings | None = None) -> Litestar:
    """The catalog app: REST under `/api/v1` plus the shared health/metrics/OpenAPI."""
    configure_observability(SERVICE, settings)
    catalog = Catalog(settings, options)
    return create_http_app(
        service=SERVICE,
        settings=settings,
        route_handlers=[ProductController, VariantController, EnrichmentController],
        lifespan=[catalog.runtime.lifespan],
        readiness=catalog.runtime.readiness(),
        dependencies={
            "pool": Provide(catalog.pool, sync_to_thread=False),
            "wake_jobs": Provide(lambda: catalog.background.wake, sync_to_thread=False),
        },
        openapi_tags=[
            Tag(name="products", description="Products resolved exactly against StockX"),
            Tag(name="variants", description="Variants by GTIN and size conversion"),
            Tag(name="enrichment", description="Batch enrichment jobs"),
        ],
        description="Products, variants, sizes and brands resolved exactly against StockX.",
        state={"catalog": catalog},
    )
