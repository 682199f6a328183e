"""Composition root of ingest: settings in, a Litestar app out (port 8000, no database).

`build_service` makes the webhook endpoint and the `IngestService` that connects it to NATS
(service.py); `create_app` mounts the endpoint as a raw ASGI route (ADR 0007).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, asgi
from litestar.handlers import ASGIRouteHandler
from litestar.openapi.spec import Tag
from litestar.types import Receive, Scope, Send

from soleflip.common.http import create_app as create_http_app
from soleflip.common.observability import configure_observability, get_logger
from soleflip.common.settings import Settings
from soleflip.ingest.http import SourcePolicy, WebhookEndpoint
from soleflip.ingest.openapi import PATH, add_webhook_operation
from soleflip.ingest.service import SERVICE, IngestService

DEFAULT_PORT = 8000

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


def build_service(settings: Settings) -> IngestService:
    """The webhook endpoint for the configured sources, and the service that connects it."""
    policies = source_policies(settings)
    for name, policy in policies.items():
        if not policy.verifier.configured and not policy.tokens:
            _log.warning("webhook source without secret or token refuses everything", source=name)
    endpoint = WebhookEndpoint(policies, max_body_bytes=settings.max_body_bytes)
    return IngestService(settings, endpoint)


def create_app(settings: Settings) -> Litestar:
    """The ingest app: `POST /webhooks/{stockx|n8n}` plus the shared health/metrics/OpenAPI."""
    configure_observability(SERVICE, settings)
    service = build_service(settings)
    sources = list(source_policies(settings))
    app = create_http_app(
        service=SERVICE,
        settings=settings,
        route_handlers=[webhook_route(service.endpoint, sources)],
        lifespan=[service.lifespan],
        readiness={"nats": service.check_nats},
        on_startup=[add_webhook_operation],
        openapi_tags=[Tag(name="webhooks", description="Signed webhooks from relays and n8n")],
        description="Verifies webhooks and publishes them to NATS JetStream.",
    )
    traced = app.asgi_handler
    untraced = getattr(traced, "app", traced)  # the handler inside TelemetryMiddleware
    paths = frozenset(PATH.replace("{source}", source) for source in sources)
    app.asgi_handler = _UntracedWebhooks(traced, untraced, paths)
    return app
