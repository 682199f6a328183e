"""Prometheus metrics of the StockX client, labelled by endpoint template (never by raw path,
which would carry ids and explode cardinality)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "soleflip_stockx_requests_total",
    "StockX HTTP attempts by endpoint template and outcome (status code or error kind).",
    ["method", "endpoint", "status"],
)
LATENCY = Histogram(
    "soleflip_stockx_request_seconds",
    "StockX HTTP attempt latency.",
    ["method", "endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
RETRIES = Counter(
    "soleflip_stockx_retries_total",
    "StockX attempts retried, by reason (429, 5xx, timeout, transport, auth).",
    ["endpoint", "reason"],
)
BUDGET_WAIT = Histogram(
    "soleflip_stockx_budget_wait_seconds",
    "Time a call waited for a slot of the shared StockX request budget.",
    ["priority"],
    buckets=(0.01, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
BUDGET_REMAINING = Gauge(
    "soleflip_stockx_budget_remaining",
    "Requests left in today's shared StockX daily budget (as last seen by this process).",
)
TOKEN_REFRESHES = Counter(
    "soleflip_stockx_token_refreshes_total",
    "StockX token requests made by this process, by outcome.",
    ["outcome"],
)
CIRCUIT_OPEN = Gauge(
    "soleflip_stockx_circuit_open",
    "1 while this process's StockX circuit breaker is open or half-open.",
)
UNDECRYPTABLE_RECORDS = Counter(
    "soleflip_stockx_token_record_undecryptable_total",
    "Token records in `stockx_auth` that SOLEFLIP_FERNET_KEYS could not decrypt, by what this "
    "process did: `reseeded` from the configured refresh token, or `failed` without one.",
    ["action"],
)
AUTH_FAILING = Gauge(
    "soleflip_stockx_auth_failing",
    "1 while this process's last attempt to get a StockX token failed for want of credentials "
    "(dead refresh token, undecryptable record); a person must act.",
)
BUDGET_SLOWDOWN = Gauge(
    "soleflip_stockx_budget_slowdown",
    "Factor the shared StockX budget's spacing is stretched by after 429s (1 = full rate).",
)
