"""What the catalog does: enrich a SKU or GTIN, apply a StockX product, refresh and remap.

Every handler works in two steps: it reads the catalog and asks StockX with no transaction
open (`plan_*`, `fetch_product`), then writes what it learned in one short transaction
(`write_enrichment`, `write_all`, `store`). A new product costs at most search + product +
variants calls; a product the catalog already holds fresh costs none.
"""

from soleflip.catalog.handlers._enrich import (
    Enrichment,
    EnrichOutcome,
    Remap,
    enrich_sku,
    fresh,
    plan_gtin,
    plan_sku,
    write_enrichment,
)
from soleflip.catalog.handlers._events import plan_product_event, plan_unknown, write_all
from soleflip.catalog.handlers._refresh import RefreshOutcome, refresh_product
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
    "RefreshOutcome",
    "Remap",
    "VariantScope",
    "enrich_sku",
    "fetch_product",
    "fetched",
    "fresh",
    "plan_gtin",
    "plan_product_event",
    "plan_sku",
    "plan_unknown",
    "refresh_product",
    "search_style",
    "store",
    "write_all",
    "write_enrichment",
]
