"""Prometheus metrics on the default registry, and the text payload served at `/metrics`."""

from __future__ import annotations

from typing import NamedTuple

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Gauge,
    Histogram,
    generate_latest,
)

# Latency buckets from 5 ms to 10 s: webhook answers must stay well under n8n's retry window.
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# `service` is a label because `soleflip dev` runs several services in one process and registry.
HTTP_REQUEST_DURATION = Histogram(
    "soleflip_http_request_duration_seconds",
    "HTTP server request duration by route template, method and status.",
    ("service", "route", "method", "status"),
    buckets=_HTTP_BUCKETS,
)
HTTP_REQUESTS_IN_PROGRESS = Gauge(
    "soleflip_http_requests_in_progress",
    "HTTP requests being served right now.",
    ("service",),
    multiprocess_mode="livesum",
)


class MetricsPayload(NamedTuple):
    """The exposition body and its content type, for any HTTP framework."""

    body: bytes
    content_type: str


def metrics_response() -> MetricsPayload:
    """The Prometheus text exposition of the default registry."""
    return MetricsPayload(generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
