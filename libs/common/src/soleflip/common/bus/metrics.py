"""Prometheus metrics of the bus, registered once per process (labels tell consumers apart)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "soleflip_bus_messages",
    "Messages handled by a consumer, by outcome (ack, retry, dead_letter, drained).",
    ["consumer", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "soleflip_bus_handler_seconds",
    "Time a consumer's handler spent per fetched batch or message.",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DEAD_LETTERS = Counter(
    "soleflip_bus_dead_letters",
    "Messages a consumer copied to its dead-letter subject and terminated.",
    ["consumer"],
)
PUBLISHED = Counter(
    "soleflip_bus_published",
    "JetStream publishes by result (stored, duplicate, unavailable, rejected).",
    ["result"],
)
RESUBSCRIBES = Counter(
    "soleflip_bus_resubscribes",
    "Pull subscriptions re-created after a reconnect, a deleted consumer or a silent server.",
    ["consumer"],
)
CONSUMER_PAUSED = Gauge(
    "soleflip_bus_consumer_paused",
    "1 while a consumer holds its messages and waits out a dependency outage, else 0.",
    ["consumer"],
)
CONSUMER_PAUSES = Counter(
    "soleflip_bus_consumer_pauses",
    "Dependency outages a consumer waited out, holding its messages (no delivery spent).",
    ["consumer"],
)
