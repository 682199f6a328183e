"""The StockX side of the handlers: every catalog call to StockX is made here, outside any
transaction, and what it returns is kept as a `Fetched` product to store in a short one.

Holding a connection (let alone a transaction) across a StockX call would pin it for as long as
the shared budget makes the call wait, which at the lowest priority can be minutes: a handful of
such waits empties the pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from soleflip.catalog import repository
from soleflip.catalog.domain import Candidate, Resolution, match_style_id, search_query
from soleflip.catalog.metrics import OLDER_SNAPSHOTS
from soleflip.catalog.translate import attributes, default_size_type, product_data
from soleflip.common.contracts.catalog import ProductData
from soleflip.common.db import Conn
from soleflip.common.observability import get_logger
from soleflip.common.stockx import (
    Priority,
    Product,
    ProductVariant,
    ProductVariantDetails,
    SearchPage,
)

log = get_logger(__name__)

#: Every catalog call spends from the lowest budget priority: catalog data can always wait
#: for order, listing and market work.
PRIORITY = Priority.CATALOG_REFRESH
SEARCH_PAGE_SIZE = 50

#: How complete a fetched product's variants are: "all" (StockX's full list, from the API),
#: "some" (a relay's list: stored, but missing ones are not retired) or "none" (keep ours).
VariantScope = Literal["all", "some", "none"]


class CatalogSource(Protocol):
    """The StockX catalog calls the catalog service makes (the `StockXClient` has them)."""

    async def search_catalog(
        self, query: str, *, page_number: int = 1, page_size: int = 10, priority: Priority = ...
    ) -> SearchPage: ...

    async def get_product(self, product_id: str, *, priority: Priority = ...) -> Product: ...

    async def get_product_variants(
        self, product_id: str, *, priority: Priority = ...
    ) -> list[ProductVariant]: ...

    async def get_variants_by_gtin(
        self, gtin: str, *, priority: Priority = ...
    ) -> ProductVariantDetails: ...


@dataclass(frozen=True, slots=True)
class Fetched:
    """A StockX product as fetched (or relayed), ready to be stored in a short transaction."""

    data: ProductData
    attributes: dict[str, Any]
    default_size_type: str | None
    #: When StockX's answer (or the relayed event) was current; older writes lose to newer.
    source_time: datetime
    variants: VariantScope = "all"

    @property
    def stockx_product_id(self) -> str:
        return self.data.stockx_product_id


def fetched(
    product: Product,
    variants: list[ProductVariant],
    *,
    source_time: datetime,
    scope: VariantScope = "all",
) -> Fetched:
    """Translate a StockX product and its variants into what the repository stores."""
    return Fetched(
        data=product_data(product, variants),
        attributes=attributes(product),
        default_size_type=default_size_type(product),
        source_time=source_time,
        variants=scope,
    )


async def fetch_product(stockx_product_id: str, *, stockx: CatalogSource, now: datetime) -> Fetched:
    """A product and all its variants from the API (2 calls). `now` was read before the calls,
    so the answer is at least that recent: it is the snapshot's source time."""
    product = await stockx.get_product(stockx_product_id, priority=PRIORITY)
    variants = await stockx.get_product_variants(product.product_id, priority=PRIORITY)
    return fetched(product, variants, source_time=now)


async def search_style(sku: str, *, stockx: CatalogSource) -> Resolution:
    """Search StockX for a style id and keep only an exact match (1 call)."""
    page = await stockx.search_catalog(
        search_query(sku), page_size=SEARCH_PAGE_SIZE, priority=PRIORITY
    )
    hits = [Candidate(p.product_id, p.style_id, p.title) for p in page.products]
    return match_style_id(sku, hits)


async def store(product: Fetched, *, conn: Conn) -> str:
    """Store a fetched product inside the caller's transaction; the catalog's product id.

    A snapshot older than the stored one (a late event) is dropped, counted and logged.
    """
    stored = await repository.upsert_product(
        conn,
        product.data,
        attributes=product.attributes,
        default_size_type=product.default_size_type,
        with_variants=product.variants != "none",
        retire_missing=product.variants == "all",
        source_time=product.source_time,
    )
    if stored is not None:
        return stored.product_id
    OLDER_SNAPSHOTS.inc()
    log.info(
        "catalog.older_snapshot_dropped",
        stockx_product_id=product.stockx_product_id,
        source_time=product.source_time.isoformat(),
    )
    product_id = await repository.product_id_of(conn, product.stockx_product_id)
    assert product_id is not None  # the newer snapshot is that very row
    return product_id
