"""Composition root of pricing: settings in, a Litestar app out (port 8003, schema `pricing`).

The `ServiceRuntime` owns the pool, NATS, the outbox relay, the three consumers (market data
from ingest, orders' listings/stock/orders, catalog's products) and three leader-elected tasks
(the market poller, the periodic re-evaluation sweep and inbox/outbox pruning).
"""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi.spec import Tag

from soleflip.common.http import create_app as create_http_app
from soleflip.common.observability import configure_observability
from soleflip.common.runtime import Clock, ServiceRuntime, utc_now
from soleflip.common.settings import Settings
from soleflip.pricing.consumers import PricingConsumers, register
from soleflip.pricing.http import CONTROLLERS
from soleflip.pricing.pollers import MarketPoller, Reevaluator, housekeeping
from soleflip.pricing.service import PricingService
from soleflip.pricing.settings import PricingSettings, load_pricing_settings

DEFAULT_PORT = 8003
SERVICE = "pricing"
STREAMS = ("INGEST", "ORDERS", "CATALOG", "PRICING", "DLQ")
TAGS = ("quote", "market", "rules", "fees", "recommendations", "autoreprice", "polls")


def build_service(
    settings: Settings,
    options: PricingSettings | None = None,
    *,
    clock: Clock = utc_now,
    poll: bool = True,
) -> PricingService:
    """The service with pricing's consumers and tasks registered on its runtime (tests pass
    `poll=False`: no market poller and no StockX client)."""
    runtime = ServiceRuntime(SERVICE, settings, streams=STREAMS, use_stockx=poll)
    service = PricingService(runtime, options or load_pricing_settings(), clock)
    register(runtime, PricingConsumers(service))
    if poll:
        poller = MarketPoller(service, record=runtime.poll_log("pricing.market"))
        runtime.add_task("market-poller", lambda _rt: poller.run(), leader=True)
    reevaluator = Reevaluator(service)
    runtime.add_task("reevaluate", lambda _rt: reevaluator.run(), leader=True)
    runtime.add_task("housekeeping", housekeeping, leader=True)
    return service


def create_app(
    settings: Settings,
    options: PricingSettings | None = None,
    *,
    clock: Clock = utc_now,
    poll: bool = True,
) -> Litestar:
    """The pricing app: `/api/v1` market, rules, fees, recommendations, autoreprice, quote."""
    configure_observability(SERVICE, settings)
    service = build_service(settings, options, clock=clock, poll=poll)
    return create_http_app(
        service=SERVICE,
        settings=settings,
        route_handlers=[*CONTROLLERS, service.runtime.polls_route()],
        lifespan=[service.runtime.lifespan],
        readiness=service.runtime.readiness(),
        dependencies={"service": Provide(lambda: service, sync_to_thread=False)},
        openapi_tags=[Tag(name=name) for name in TAGS],
        description="Market data, fee-true repricing rules, recommendations and auto-reprice.",
        state={"runtime": service.runtime, "service": service},
    )
