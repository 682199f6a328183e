"""What the catalog does: enrich a SKU or GTIN, apply a StockX product, refresh and remap.

Handlers take a connection inside the caller's unit of work and a `CatalogSource` (the StockX
client, or a fake in unit tests); they spend at most search + product + variants calls for a new
product and none for a product the catalog already holds fresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import msgspec

from soleflip.catalog import queries, repository
from soleflip.catalog.domain import Candidate, is_gtin, match_style_id, search_query
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
    StockXNotFound,
)

log = get_logger(__name__)

#: Every catalog call spends from the lowest budget priority: catalog data can always wait
#: for order, listing and market work.
PRIORITY = Priority.CATALOG_REFRESH
SEARCH_PAGE_SIZE = 50


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


@dataclass(slots=True)
class EnrichOutcome:
    """How one SKU ended: resolved to a product, unresolved (with candidates), or failed."""

    status: Literal["resolved", "unresolved", "failed"]
    product_id: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    detail: str | None = None


def _fresh(enriched_at: datetime, ttl_s: float) -> bool:
    return datetime.now(UTC) - enriched_at < timedelta(seconds=ttl_s)


async def fetch_and_store(conn: Conn, stockx: CatalogSource, stockx_product_id: str) -> str:
    """Fetch a product and its variants from StockX (2 calls), store them; the catalog id."""
    product = await stockx.get_product(stockx_product_id, priority=PRIORITY)
    variants = await stockx.get_product_variants(product.product_id, priority=PRIORITY)
    stored = await repository.upsert_product(
        conn,
        product_data(product, variants),
        attributes=attributes(product),
        default_size_type=default_size_type(product),
    )
    return stored.product_id


async def _store_unless_fresh(
    conn: Conn, stockx: CatalogSource, stockx_product_id: str, ttl_s: float
) -> str:
    known = await queries.product(conn, stockx_product_id)
    if known is not None and _fresh(known.last_enriched_at, ttl_s):
        return known.id
    return await fetch_and_store(conn, stockx, stockx_product_id)


async def enrich_sku(conn: Conn, stockx: CatalogSource, sku: str, *, ttl_s: float) -> EnrichOutcome:
    """Resolve a style id (or a GTIN) exactly and store the product; never a near miss."""
    if is_gtin(sku):
        return await enrich_gtin(conn, stockx, sku, ttl_s=ttl_s)
    local = await queries.products_by_sku(conn, sku)
    if len(local) == 1 and _fresh(local[0].last_enriched_at, ttl_s):
        return EnrichOutcome("resolved", product_id=local[0].id, detail="already in the catalog")
    page = await stockx.search_catalog(
        search_query(sku), page_size=SEARCH_PAGE_SIZE, priority=PRIORITY
    )
    hits = [Candidate(p.product_id, p.style_id, p.title) for p in page.products]
    resolution = match_style_id(sku, hits)
    if resolution.stockx_product_id is None:
        return EnrichOutcome(
            "unresolved", candidates=list(resolution.candidates), detail=resolution.reason
        )
    found = resolution.stockx_product_id
    if len(local) == 1 and local[0].stockx_product_id != found:
        # StockX shows this exact code under another id only: ours went stale. Remap it rather
        # than store a second product with the same code (lookups would turn ambiguous).
        old = local[0]
        await repository.remap_product(conn, old.id, old.stockx_product_id, found, old.style_id)
    product_id = await _store_unless_fresh(conn, stockx, found, ttl_s)
    return EnrichOutcome("resolved", product_id=product_id)


async def enrich_gtin(
    conn: Conn, stockx: CatalogSource, gtin: str, *, ttl_s: float
) -> EnrichOutcome:
    """Resolve a barcode through StockX's variants-by-GTIN endpoint (at most 3 calls)."""
    known = await queries.variant_by_gtin(conn, gtin)
    if known is not None:
        return EnrichOutcome("resolved", product_id=known.product_id, detail="already in catalog")
    try:
        variant = await stockx.get_variants_by_gtin(gtin.strip(), priority=PRIORITY)
    except StockXNotFound:
        return EnrichOutcome("unresolved", detail="StockX knows no variant with this GTIN")
    # The product may be stored without this barcode: store it again to learn it.
    product_id = await fetch_and_store(conn, stockx, variant.product_id)
    return EnrichOutcome("resolved", product_id=product_id)


async def apply_product(conn: Conn, stockx: CatalogSource, raw: dict[str, Any]) -> ProductData:
    """Store a StockX product resource as a relay sent it (variants fetched only when new)."""
    product = msgspec.convert(raw, Product)
    raw_variants = raw.get("variants")
    with_variants = True
    if raw_variants is not None:
        variants = msgspec.convert(raw_variants, list[ProductVariant])
    elif await queries.known_stockx_ids(conn, [product.product_id]):
        variants, with_variants = [], False  # keep the variants we hold
    else:
        variants = await stockx.get_product_variants(product.product_id, priority=PRIORITY)
    return await repository.upsert_product(
        conn,
        product_data(product, variants),
        attributes=attributes(product),
        default_size_type=default_size_type(product),
        with_variants=with_variants,
    )


async def refresh_product(conn: Conn, stockx: CatalogSource, stale: queries.StaleProduct) -> str:
    """Re-fetch a product; a stored id that now 404s is found again by style id and remapped.

    Returns "refreshed", "remapped" or "lost" (404 and no exact style-id match: kept as is,
    marked fresh so the poller does not ask again every round).
    """
    try:
        await fetch_and_store(conn, stockx, stale.stockx_product_id)
        return "refreshed"
    except StockXNotFound:
        pass
    new_id = await _resolve_style(stockx, stale.style_id)
    if new_id is None or new_id == stale.stockx_product_id:
        log.warning("catalog.product_lost", product_id=stale.id, style_id=stale.style_id)
        await repository.touch_product(conn, stale.id)
        return "lost"
    await repository.remap_product(conn, stale.id, stale.stockx_product_id, new_id, stale.style_id)
    await fetch_and_store(conn, stockx, new_id)
    return "remapped"


async def _resolve_style(stockx: CatalogSource, style_id: str | None) -> str | None:
    if not style_id:
        return None
    page = await stockx.search_catalog(
        search_query(style_id), page_size=SEARCH_PAGE_SIZE, priority=PRIORITY
    )
    hits = [Candidate(p.product_id, p.style_id, p.title) for p in page.products]
    return match_style_id(style_id, hits).stockx_product_id


async def ensure_known(
    conn: Conn, stockx: CatalogSource, *, stockx_ids: list[str], skus: list[str], ttl_s: float
) -> int:
    """Enrich the products an event mentions that the catalog does not hold; returns how many
    were looked up."""
    missing = sorted(set(stockx_ids) - await queries.known_stockx_ids(conn, stockx_ids))
    for stockx_id in missing:
        try:
            await fetch_and_store(conn, stockx, stockx_id)
        except StockXNotFound:
            # A stale id in someone else's event: the refresh poller remaps ours, not theirs.
            log.info("catalog.unknown_stockx_product", stockx_product_id=stockx_id)
    unknown = [s for s in dict.fromkeys(skus) if not await queries.products_by_sku(conn, s)]
    for sku in unknown:
        outcome = await enrich_sku(conn, stockx, sku, ttl_s=ttl_s)
        if outcome.status != "resolved":
            log.info("catalog.sku_unresolved", sku=sku, reason=outcome.detail)
    return len(missing) + len(unknown)
