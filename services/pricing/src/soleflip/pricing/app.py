"""Composition root of pricing: settings in, a Litestar app out (port 8003, schema `pricing`).

The `ServiceRuntime` owns the pool, NATS, the outbox relay, the three consumers (market data
from ingest, orders' listings/stock/orders, catalog's products) and three leader-elected tasks
(the market poller, the periodic re-evaluation sweep and inbox/outbox pruning).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi.spec import Tag

from soleflip.common.http import create_app as create_http_app
from soleflip.common.observability import configure_observability
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.settings import Settings
from soleflip.pricing.consumers import PricingConsumers, register
from soleflip.pricing.http import CONTROLLERS, Pricing, utc_now
from soleflip.pricing.pollers import MarketPoller, Reevaluator, housekeeping
from soleflip.pricing.settings import PricingSettings, load_pricing_settings

DEFAULT_PORT = 8003
SERVICE = "pricing"
STREAMS = ("INGEST", "ORDERS", "CATALOG", "PRICING", "DLQ")
TAGS = ("quote", "market", "rules", "fees", "recommendations", "autoreprice")


def build_runtime(
    settings: Settings,
    pricing: PricingSettings,
    *,
    clock: Callable[[], datetime] = utc_now,
    poll: bool = True,
) -> ServiceRuntime:
    """The runtime with pricing's consumers and tasks registered (tests pass `poll=False`)."""
    runtime = ServiceRuntime(SERVICE, settings, streams=STREAMS, use_stockx=poll)
    register(runtime, PricingConsumers(runtime, pricing, clock))
    if poll:
        poller = MarketPoller(runtime, pricing, clock=clock)
        runtime.add_task("market-poller", lambda _rt: poller.run(), leader=True)
    reevaluator = Reevaluator(runtime, pricing, clock=clock)
    runtime.add_task("reevaluate", lambda _rt: reevaluator.run(), leader=True)
    runtime.add_task("housekeeping", housekeeping, leader=True)
    return runtime


def create_app(
    settings: Settings,
    pricing: PricingSettings | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    poll: bool = True,
) -> Litestar:
    """The pricing app: `/api/v1` market, rules, fees, recommendations, autoreprice, quote."""
    configure_observability(SERVICE, settings)
    runtime = build_runtime(settings, pricing or load_pricing_settings(), clock=clock, poll=poll)
    deps = Pricing(runtime, clock)
    return create_http_app(
        service=SERVICE,
        settings=settings,
        route_handlers=CONTROLLERS,
        lifespan=[runtime.lifespan],
        readiness=runtime.readiness(),
        dependencies={"pricing": Provide(lambda: deps, sync_to_thread=False)},
        openapi_tags=[Tag(name=name) for name in TAGS],
        description="Market data, fee-true repricing rules, recommendations and auto-reprice.",
        state={"runtime": runtime},
    )
