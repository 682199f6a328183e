"""Prometheus metrics of the outbox relay, registered once per process (`relay` label)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_PUBLISHED = Counter(
    "soleflip_outbox_published",
    "Outbox rows published and marked by a relay.",
    ["relay"],
)
OUTBOX_FAILURES = Counter(
    "soleflip_outbox_failures",
    "Relay sweeps that failed (Postgres or the bus unavailable) and will be retried.",
    ["relay"],
)
OUTBOX_LAG_SECONDS = Histogram(
    "soleflip_outbox_lag_seconds",
    "Time from an outbox row's commit to its publication.",
    ["relay"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
OUTBOX_PAUSED = Gauge(
    "soleflip_outbox_paused",
    "1 while a relay waits out an outage of NATS or Postgres (its rows kept, unmarked), else 0.",
    ["relay"],
)
