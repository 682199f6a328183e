"""Composition root of ingest: settings in, a Litestar app out (port 8000, no database).

The lifespan connects to NATS, makes sure the INGEST stream exists and binds the webhook
endpoint to a publisher; readiness checks the connection and the stream.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, asgi
from litestar.handlers import ASGIRouteHandler
from litestar.openapi.spec import Tag
from litestar.types import Receive, Scope, Send
from nats.aio.client import Client

from soleflip.common.bus import (
    Names,
    Publisher,
    check_streams,
    connect,
    ensure_streams,
    stream_spec,
)
from soleflip.common.errors import Unavailable
from soleflip.common.http import create_app as create_http_app
from soleflip.common.observability import configure_observability, get_logger
from soleflip.common.settings import Settings
from soleflip.ingest.acks import AckTracker
from soleflip.ingest.handlers import JetStreamSink
from soleflip.ingest.http import SourcePolicy, WebhookEndpoint
from soleflip.ingest.openapi import PATH, add_webhook_operation

DEFAULT_PORT = 8000
SERVICE = "ingest"
#: PubAck wait per attempt, and the fallback's attempts: a stuck JetStream answers 503 within
#: seconds; a disconnected one at once.
PUBLISH_TIMEOUT_S = 2.0
PUBLISH_ATTEMPTS = 2

_log = get_logger("soleflip.ingest")


def source_policies(settings: Settings) -> dict[str, SourcePolicy]:
    """The senders ingest accepts (the `{source}` of the path) and how each authenticates."""
    rate = settings.webhook_rate_per_s
    return {
        "stockx": SourcePolicy(
            "stockx", secrets=settings.webhook_secrets_stockx, tokens=(), rate_per_s=rate
        ),
        "n8n": SourcePolicy(
            "n8n", secrets=settings.webhook_secrets_n8n, tokens=settings.n8n_tokens, rate_per_s=rate
        ),
    }


def webhook_route(endpoint: WebhookEndpoint, sources: list[str]) -> ASGIRouteHandler:
    """The endpoint as a Litestar ASGI route (described in OpenAPI by `add_webhook_operation`).

    One plain path per source rather than `/webhooks/{source}`: Litestar 2.x cannot route an
    ASGI handler with path parameters (KeyError on the method), and plain paths are its fastest
    lookup; an unknown source is Litestar's ordinary 404.
    """

    async def receive_webhook(scope: Scope, receive: Receive, send: Send) -> None:
        await endpoint(scope, receive, send)

    paths = [PATH.replace("{source}", source) for source in sources]
    return asgi(paths, copy_scope=False)(receive_webhook)


class _UntracedWebhooks:
    """Outermost ASGI layer: webhook requests skip the shared per-request telemetry middleware.

    That middleware (a server span, an access-log line, a histogram per request) costs about
    seven times what the whole webhook endpoint costs; the endpoint keeps its own cheaper
    telemetry instead (per-source metrics, a log line per rejection, trace context passed on).
    Webhooks still go through Litestar's router and exception handling.
    """

    def __init__(self, traced: Any, untraced: Any, paths: frozenset[str]) -> None:
        self._traced = traced
        self._untraced = untraced
        self._paths = paths

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self._paths:
            await self._untraced(scope, receive, send)
        else:
            await self._traced(scope, receive, send)


class _Bus:
    """The NATS connection of one app instance, for the lifespan and readiness."""

    def __init__(self, settings: Settings, endpoint: WebhookEndpoint) -> None:
        self.settings = settings
        self.names = Names(settings.nats_prefix)
        self.endpoint = endpoint
        self.nc: Client | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncIterator[None]:
        nc = await connect(self.settings.nats_url, name=SERVICE)
        self.nc = nc
        acks: AckTracker | None = None
        try:
            js = nc.jetstream()
            await ensure_streams(
                js, self.names, specs=[stream_spec("INGEST")], replicas=self.settings.nats_replicas
            )
            fallback = Publisher(
                js, self.names, timeout=PUBLISH_TIMEOUT_S, attempts=PUBLISH_ATTEMPTS
            )
            acks = AckTracker(nc, timeout=PUBLISH_TIMEOUT_S)
            await acks.start()
            sink = JetStreamSink(nc, acks, self.names, fallback=fallback)
            self.endpoint.bind(sink)
            _freeze_startup_objects()
            yield
        finally:
            self.endpoint.bind(None)
            if acks is not None:
                await acks.stop()
            self.nc = None
            await nc.drain()

    async def check_nats(self) -> None:
        if self.nc is None or not self.nc.is_connected:
            raise Unavailable("not connected to NATS")
        problems = await check_streams(
            self.nc.jetstream(), self.names, specs=[stream_spec("INGEST")]
        )
        if problems:
            raise Unavailable("; ".join(problems))


def _freeze_startup_objects() -> None:
    """Exclude everything that exists after start-up from future garbage collections.

    Ingest keeps no state between requests, yet a full collection walks every module, route
    and schema object loaded at start (~60,000 objects; 47 ms measured on the shared bench
    box), a pause that shows up as p99 latency. After `gc.freeze()` collections only walk what
    requests allocate.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings) -> Litestar:
    """The ingest app: `POST /webhooks/{stockx|n8n}` plus the shared health/metrics/OpenAPI."""
    configure_observability(SERVICE, settings)
    policies = source_policies(settings)
    for name, policy in policies.items():
        if not policy.verifier.configured and not policy.tokens:
            _log.warning("webhook source without secret or token refuses everything", source=name)
    endpoint = WebhookEndpoint(policies, max_body_bytes=settings.max_body_bytes)
    bus = _Bus(settings, endpoint)
    app = create_http_app(
        service=SERVICE,
        settings=settings,
        route_handlers=[webhook_route(endpoint, list(policies))],
        lifespan=[bus.lifespan],
        readiness={"nats": bus.check_nats},
        on_startup=[add_webhook_operation],
        openapi_tags=[Tag(name="webhooks", description="Signed webhooks from relays and n8n")],
        description="Verifies webhooks and publishes them to NATS JetStream.",
    )
    traced = app.asgi_handler
    untraced = getattr(traced, "app", traced)  # the handler inside TelemetryMiddleware
    paths = frozenset(PATH.replace("{source}", source) for source in policies)
    app.asgi_handler = _UntracedWebhooks(traced, untraced, paths)
    return app
