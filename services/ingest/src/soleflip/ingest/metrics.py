"""Prometheus metrics of ingest, per source (registered once per process, on the default registry).

The hot path binds each labelled child once per source (`SourceMetrics`), because a `.labels()`
lookup per request costs more than the increment itself.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECEIVED = Counter(
    "soleflip_ingest_requests",
    "Webhook requests received, by source (including rejected ones).",
    ["source"],
)
EVENTS = Counter(
    "soleflip_ingest_events",
    "Events acknowledged by JetStream, by source and result (accepted, duplicate).",
    ["source", "result"],
)
REJECTED = Counter(
    "soleflip_ingest_rejected",
    "Webhook requests rejected, by source and reason.",
    ["source", "reason"],
)
LATENCY = Histogram(
    "soleflip_ingest_request_seconds",
    "Time from the first byte of a webhook request to its answer, by source and status.",
    ["source", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

#: Status code -> reason label; a reason per status keeps the label set small and fixed.
REASONS = {
    400: "bad_request",
    401: "unauthorized",
    404: "unknown_source",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_data",
    429: "rate_limited",
    499: "client_disconnected",
    500: "error",
    503: "unavailable",
}


class SourceMetrics:
    """The metric children of one source, bound once."""

    __slots__ = ("accepted", "duplicates", "latency", "received", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.received = RECEIVED.labels(source)
        self.accepted = EVENTS.labels(source, "accepted")
        self.duplicates = EVENTS.labels(source, "duplicate")
        self.latency = {status: LATENCY.labels(source, str(status)) for status in (200, 202)}

    def rejected(self, status: int, seconds: float) -> None:
        REJECTED.labels(self.source, REASONS.get(status, "error")).inc()
        LATENCY.labels(self.source, str(status)).observe(seconds)
