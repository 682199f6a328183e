"""What the catalog does: enrich a SKU or GTIN, apply a StockX product, refresh and remap.

Handlers look like every service's, `(message, *, pool | conn, stockx, now, ...) -> result`,
in two steps: one reads the catalog and asks StockX with no transaction open (`plan_*`,
`fetch_product`: given the pool, they only read), then one writes what it learned inside the
caller's short transaction (`write_enrichment`, `write_all`, `write_refresh`, `store`: given the
`conn`). No handler reads the clock or commits: the edge (consumer, job runner, poller) reads
`now` once and commits. A new product costs at most search + product + variants calls; a
product the catalog already holds fresh costs none.
"""

from soleflip.catalog.handlers._enrich import (
    Enrichment,
    EnrichOutcome,
    Remap,
    fresh,
    plan_gtin,
    plan_sku,
    write_enrichment,
)
from soleflip.catalog.handlers._events import plan_product_event, plan_unknown, write_all
from soleflip.catalog.handlers._refresh import (
    Refresh,
    RefreshOutcome,
    plan_refresh,
    write_refresh,
)
from soleflip.catalog.handlers._source import (
    PRIORITY,
    SEARCH_PAGE_SIZE,
    CatalogSource,
    Fetched,
    VariantScope,
    fetch_product,
    fetched,
    search_style,
    store,
)

__all__ = [
    "PRIORITY",
    "SEARCH_PAGE_SIZE",
    "CatalogSource",
    "EnrichOutcome",
    "Enrichment",
    "Fetched",
    "Refresh",
    "RefreshOutcome",
    "Remap",
    "VariantScope",
    "fetch_product",
    "fetched",
    "fresh",
    "plan_gtin",
    "plan_product_event",
    "plan_refresh",
    "plan_sku",
    "plan_unknown",
    "search_style",
    "store",
    "write_all",
    "write_enrichment",
    "write_refresh",
]
