"""Composition root of catalog: settings in, a Litestar app out (port 8001, schema `catalog`).

The runtime opens the pool, NATS (INGEST, CATALOG, ORDERS and DLQ streams), the StockX client
and the outbox relay; the catalog adds its two consumers, the leader-elected refresh poller and
job runner, and the REST controllers.
"""

from __future__ import annotations

import functools

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
from soleflip.catalog.service import CatalogService
from soleflip.catalog.settings import CatalogSettings
from soleflip.common.bus import ConsumerRunner
from soleflip.common.http import create_app as create_http_app
from soleflip.common.observability import configure_observability
from soleflip.common.runtime import Clock, ServiceRuntime, utc_now
from soleflip.common.settings import Settings

DEFAULT_PORT = 8001
SERVICE = "catalog"
STREAMS = ("INGEST", "CATALOG", "ORDERS", "DLQ")


def build_service(
    settings: Settings, options: CatalogSettings | None = None, *, clock: Clock = utc_now
) -> CatalogService:
    """The service with the catalog's two consumers and its leader tasks registered."""
    options = options or CatalogSettings.from_settings(settings)
    runtime = ServiceRuntime(SERVICE, settings, streams=STREAMS, pool_size=options.pool_size)
    service = CatalogService(runtime, options, clock)
    consumers = CatalogConsumers(service)
    for durable, subjects, stream in (
        (INGEST_DURABLE, INGEST_SUBJECTS, "INGEST"),
        (ORDERS_DURABLE, ORDERS_SUBJECTS, "ORDERS"),
    ):
        runtime.add_consumer(
            functools.partial(_consumer, service, consumers, durable, subjects, stream)
        )
    background = Background(service)
    runtime.add_task("enrichment-jobs", lambda _rt: background.jobs_forever(), leader=True)
    if options.refreshing:
        runtime.add_task("refresh", lambda _rt: background.refresh_forever(), leader=True)
    return service


def _consumer(
    service: CatalogService,
    consumers: CatalogConsumers,
    durable: str,
    subjects: tuple[str, ...],
    stream: str,
    rt: ServiceRuntime,
) -> ConsumerRunner:
    handler = consumers.handle_ingest if stream == "INGEST" else consumers.handle_orders
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
        fetch_timeout=service.options.fetch_timeout_s,
    )


def create_app(
    settings: Settings, options: CatalogSettings | None = None, *, clock: Clock = utc_now
) -> Litestar:
    """The catalog app: REST under `/api/v1` plus the shared health/metrics/OpenAPI."""
    configure_observability(SERVICE, settings)
    service = build_service(settings, options, clock=clock)
    return create_http_app(
        service=SERVICE,
        settings=settings,
        route_handlers=[
            ProductController,
            VariantController,
            EnrichmentController,
            service.runtime.polls_route(),
        ],
        lifespan=[service.runtime.lifespan],
        readiness=service.runtime.readiness(),
        dependencies={"service": Provide(lambda: service, sync_to_thread=False)},
        openapi_tags=[
            Tag(name="products", description="Products resolved exactly against StockX"),
            Tag(name="variants", description="Variants by GTIN and size conversion"),
            Tag(name="enrichment", description="Batch enrichment jobs"),
            Tag(name="polls", description="When each StockX poller last ran"),
        ],
        description="Products, variants, sizes and brands resolved exactly against StockX.",
        state={"catalog": service},
    )
