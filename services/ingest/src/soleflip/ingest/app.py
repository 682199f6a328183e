"""Composition root of ingest: settings in, a Litestar app out (port 8000, no database).

`build_service` makes the webhook endpoint and the `IngestService` that connects it to NATS
(service.py); `create_app` puts the endpoint at the outermost ASGI layer (ADR 0007): requests
for `POST /webhooks/<source>` go straight to it, before the shared per-request telemetry layer
and Litestar's router and exception handling, which together cost more than the endpoint
itself. The endpoint keeps its own cheaper telemetry (per-source metrics, a log line per
rejection, its own server span while spans are exported, trace context passed on) and answers
its own errors, unexpected ones included. The Litestar route stays registered for the paths
the dispatcher does not take word for word (a trailing slash) and for the route table.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, asgi
from litestar.handlers import ASGIRouteHandler
from litestar.openapi.spec import Tag
from litestar.types import ASGIApp, Receive, Scope, Send

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


def webhook_route(endpoint: WebhookEndpoint, paths: list[str]) -> ASGIRouteHandler:
    """The endpoint as a Litestar ASGI route (described in OpenAPI by `add_webhook_operation`).

    One plain path per source rather than `/webhooks/{source}`: Litestar 2.x cannot route an
    ASGI handler with path parameters (KeyError on the method), and plain paths are its fastest
    lookup; an unknown source is Litestar's ordinary 404.
    """

    async def receive_webhook(scope: Scope, receive: Receive, send: Send) -> None:
        await endpoint(scope, receive, send)

    return asgi(paths, copy_scope=False)(receive_webhook)


class WebhookDispatch:
    """The outermost ASGI layer of ingest: webhook paths to the endpoint, the rest to `app`.

    One set lookup per request instead of the telemetry layer's bypass check, the exception
    middleware and the router (py-spy: ~6 % of ingest's CPU samples per webhook went there).
    """

    __slots__ = ("_app", "_endpoint", "_paths")

    def __init__(self, app: ASGIApp, endpoint: WebhookEndpoint, paths: list[str]) -> None:
        self._app = app
        self._endpoint = endpoint
        self._paths = frozenset(paths)

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        # Any: Litestar's Scope union types `type` as its enum; uvicorn's scope has plain str.
        if scope["type"] == "http" and scope["path"] in self._paths:
            await self._endpoint(scope, receive, send)
        else:
            await self._app(scope, receive, send)


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
    paths = [PATH.replace("{source}", source) for source in source_policies(settings)]
    app = create_http_app(
        service=SERVICE,
        settings=settings,
        route_handlers=[webhook_route(service.endpoint, paths)],
        untraced_paths=paths,
        lifespan=[service.lifespan],
        readiness={"nats": service.check_nats},
        on_startup=[add_webhook_operation],
        openapi_tags=[Tag(name="webhooks", description="Signed webhooks from relays and n8n")],
        description="Verifies webhooks and publishes them to NATS JetStream.",
    )
    # In front of everything Litestar runs per request (Litestar's own `__call__` only sets
    # two scope keys before calling it); lifespan and every other path pass through.
    app.asgi_handler = WebhookDispatch(app.asgi_handler, service.endpoint, paths)
    return app
