"""Composition root of ingest: settings in, a Litestar app out (port 8000, no database).

`build_service` makes the webhook endpoint and the `IngestService` that connects it to NATS
(service.py); `create_app` puts the endpoint at the outermost ASGI layer (the shared factory's
`direct_routes`, ADR 0007): requests
for `POST /webhooks/<source>` go straight to it, before the shared per-request telemetry layer
and Litestar's router and exception handling, which together cost more than the endpoint
itself. The endpoint keeps its own cheaper telemetry (per-source metrics, a log line per
rejection, its own server span while spans are exported, trace context passed on) and answers
its own errors, unexpected ones included. The Litestar route stays registered for the paths
the dispatcher does not take word for word (a trailing slash) and for the route table.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.openapi.spec import Tag

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
    return create_http_app(
        service=SERVICE,
        settings=settings,
        direct_routes=dict.fromkeys(paths, service.endpoint),
        lifespan=[service.lifespan],
        readiness={"nats": service.check_nats},
        on_startup=[add_webhook_operation],
        openapi_tags=[Tag(name="webhooks", description="Signed webhooks from relays and n8n")],
        description="Verifies webhooks and publishes them to NATS JetStream.",
    )
