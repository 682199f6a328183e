"""Prometheus metrics of the catalog (registered once per process on the default registry)."""

from __future__ import annotations

from prometheus_client import Counter

PRODUCT_EVENTS = Counter(
    "soleflip_catalog_product_events",
    "Relayed StockX product events not stored as sent: resolved_by_style (the id answered 404, "
    "the style id found the product); ignored (404 and no exact style-id match).",
    ["outcome"],
)
OLDER_SNAPSHOTS = Counter(
    "soleflip_catalog_older_snapshots",
    "Product snapshots (late events, slow fetches) dropped: the stored one is newer.",
)
REFRESH_FAILURES = Counter(
    "soleflip_catalog_refresh_failures",
    "Product refreshes that failed on the product itself (5xx or an undecodable body for its "
    "id): `failed` (asked again later), `gave_up` (the bound of failures in a row reached).",
    ["outcome"],
)
ENRICH_DEFERRALS = Counter(
    "soleflip_catalog_enrich_deferrals",
    "Enrichment items put back to pending after a transient StockX failure, by error class "
    "(rate limited, unavailable, budget wait): retried later, never failed for it.",
    ["error"],
)
