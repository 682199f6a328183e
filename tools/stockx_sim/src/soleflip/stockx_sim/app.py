"""Composition root of the StockX simulator: `create_app(settings)`, served on port 8090."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException

from soleflip.common.settings import Settings
from soleflip.stockx_sim.control import CONTROL_HANDLERS
from soleflip.stockx_sim.engine import seed_world, tick
from soleflip.stockx_sim.errors import ApiError, OAuthError
from soleflip.stockx_sim.gateway import Gateway, RateLimiter
from soleflip.stockx_sim.http_auth import AUTH_HANDLERS
from soleflip.stockx_sim.http_batches import BATCH_HANDLERS
from soleflip.stockx_sim.http_catalog import CATALOG_HANDLERS
from soleflip.stockx_sim.http_listings import LISTING_HANDLERS
from soleflip.stockx_sim.http_orders import ORDER_HANDLERS
from soleflip.stockx_sim.relay import Relay, RelayConfig
from soleflip.stockx_sim.settings import SimConfig, sim_config_from_env
from soleflip.stockx_sim.world import World

DEFAULT_PORT = 8090
_TICK_S = 0.2
_log = logging.getLogger("soleflip.stockx_sim")
Req = Request[Any, Any, Any]


def _api_error(_: Req, exc: ApiError) -> Response[Any]:
    return Response(exc.body(), status_code=exc.status)


def _oauth_error(_: Req, exc: OAuthError) -> Response[Any]:
    return Response(exc.body(), status_code=exc.status, headers={"cache-control": "no-store"})


def _http_error(_: Req, exc: HTTPException) -> Response[Any]:
    return Response(
        {"statusCode": exc.status_code, "message": exc.detail}, status_code=exc.status_code
    )


def _crash(_: Req, exc: Exception) -> Response[Any]:
    _log.exception("simulator handler failed", exc_info=exc)
    return Response({"statusCode": 500, "message": "Internal Server Error"}, status_code=500)


@get(["/health/live", "/health/ready"], sync_to_thread=False, include_in_schema=False)
def _health() -> dict[str, str]:
    """The simulator is in memory: alive means ready (`soleflip dev` and compose probe this)."""
    return {"status": "ready"}


async def _background(world: World, relay: Relay) -> None:
    """Settle due work and deliver relay events even while no client is calling."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        while True:
            try:
                tick(world)
                await relay.pump(client)
            except Exception:
                _log.exception("simulator background step failed")
            await asyncio.sleep(_TICK_S)


def create_app(settings: Settings, config: SimConfig | None = None) -> Litestar:
    """A seeded simulator: StockX `/v2`, the accounts host and the `/_sim` control plane."""
    config = config or sim_config_from_env(settings=settings)
    world = World(config)
    seed_world(world, config.seed, config.products, config.listings, config.orders)
    relay = Relay(world)
    if config.relay_url and config.relay_secret:
        relay.configure(RelayConfig(url=config.relay_url, secret=config.relay_secret))
    limiter = RateLimiter()

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        task = asyncio.create_task(_background(world, relay))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return Litestar(
        route_handlers=[
            *AUTH_HANDLERS,
            *CATALOG_HANDLERS,
            *LISTING_HANDLERS,
            *BATCH_HANDLERS,
            *ORDER_HANDLERS,
            *CONTROL_HANDLERS,
            _health,
        ],
        middleware=[lambda app: Gateway(app, world, limiter)],
        exception_handlers={
            ApiError: _api_error,
            OAuthError: _oauth_error,
            HTTPException: _http_error,
            Exception: _crash,
        },
        state=State({"world": world, "relay": relay}),
        lifespan=[lifespan],
        openapi_config=None,
    )
