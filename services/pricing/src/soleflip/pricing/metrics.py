"""Prometheus metrics of pricing (registered once per process on the default registry)."""

from __future__ import annotations

from prometheus_client import Counter

REPRICES = Counter(
    "soleflip_pricing_reprices",
    "Reprice outcomes: requested, dry_run, applied, rejected (StockX did not apply it).",
    ["outcome"],
)
MARKET_OBSERVATIONS = Counter(
    "soleflip_pricing_market_observations",
    "Market observations by source (webhook, poll) and whether they changed anything.",
    ["source", "changed"],
)
MARKET_POLLS = Counter(
    "soleflip_pricing_market_polls",
    "Per-product market-data calls made by the poller, by tier and result (ok; error: failed on "
    "the product, counted on its market_poll_failure row; gave_up: its bound reached).",
    ["tier", "result"],
)
