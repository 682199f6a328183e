"""Composition root of orders: settings in, a Litestar app out (port 8002, schema `orders`).

The runtime opens the pool, NATS (INGEST, ORDERS, CATALOG, PRICING and DLQ streams), the
StockX client and the outbox relay; orders adds its consumers (`orders-fees` copies pricing's fee
schedules, `orders-market` the latest market per variant), the leader-elected pollers, the
listing operation settler and the variant retry, and the REST controllers.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi.spec import Tag

from soleflip.common.http import create_app as create_http_app
from soleflip.common.observability import configure_observability
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.settings import Settings
from soleflip.orders.consumers import (
    catalog_consumer,
    fees_consumer,
    ingest_consumer,
    market_consumer,
    reprice_consumer,
)
from soleflip.orders.http import CONTROLLERS
from soleflip.orders.pollers import run_operation_settler, run_pollers
from soleflip.orders.retry import run_variant_retry
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings

DEFAULT_PORT = 8002
SERVICE = "orders"
STREAMS = ("INGEST", "ORDERS", "CATALOG", "PRICING", "DLQ")


def build_service(settings: Settings, options: OrdersSettings | None = None) -> OrdersService:
    """The runtime with everything orders runs in the background registered on it."""
    options = options or OrdersSettings.from_settings(settings)
    runtime = ServiceRuntime(SERVICE, settings, streams=STREAMS, pool_size=options.pool_size)
    service = OrdersService(runtime, options)
    runtime.add_consumer(lambda _rt: ingest_consumer(service))
    runtime.add_consumer(lambda _rt: reprice_consumer(service))
    runtime.add_consumer(lambda _rt: catalog_consumer(service))
    runtime.add_task("variant-retry", lambda _rt: run_variant_retry(service), leader=True)
    runtime.add_consumer(lambda _rt: fees_consumer(service))
    runtime.add_consumer(lambda _rt: market_consumer(service))
    runtime.add_task("operations", lambda _rt: run_operation_settler(service), leader=True)
    if options.polling:
        record = runtime.poll_log("orders")
        runtime.add_task("pollers", lambda _rt: run_pollers(service, record), leader=True)
    return service


def create_app(settings: Settings, options: OrdersSettings | None = None) -> Litestar:
    """The orders app: REST under `/api/v1` plus the shared health/metrics/OpenAPI."""
    configure_observability(SERVICE, settings)
    service = build_service(settings, options)
    return create_http_app(
        service=SERVICE,
        settings=settings,
        route_handlers=[*CONTROLLERS, service.runtime.polls_route()],
        dependencies={"service": Provide(lambda: service, sync_to_thread=False)},
        lifespan=[service.runtime.lifespan],
        readiness=service.runtime.readiness(),
        openapi_tags=[
            Tag(name="orders", description="Orders, listings, stock and profit"),
            Tag(name="polls", description="When each StockX poller last ran"),
        ],
        description="Stock, listings and orders mirrored from StockX, with true profit.",
    )
