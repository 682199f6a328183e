"""Enriching one SKU or GTIN: read and ask StockX first (no transaction: `plan_sku` is given the
pool and only reads), then write the outcome in the caller's short transaction
(`write_enrichment`), where a job also marks its item done."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

from soleflip.catalog import queries, repository
from soleflip.catalog.domain import Candidate, is_gtin
from soleflip.catalog.handlers._source import (
    PRIORITY,
    CatalogSource,
    Fetched,
    fetch_product,
    search_style,
    store,
)
from soleflip.common.db import Conn
from soleflip.common.stockx import StockXNotFound


@dataclass(slots=True)
class EnrichOutcome:
    """How one SKU ended: resolved to a product, unresolved (with candidates), or failed."""

    status: Literal["resolved", "unresolved", "failed"]
    product_id: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Remap:
    """Our product whose StockX id went stale, and the id StockX now shows its style under."""

    product_id: str
    old_stockx_id: str
    new_stockx_id: str
    style_id: str | None


@dataclass(slots=True)
class Enrichment:
    """What enriching one SKU learned at StockX, to be written by `write_enrichment`."""

    outcome: EnrichOutcome
    product: Fetched | None = None
    remap: Remap | None = None


def fresh(enriched_at: datetime, *, ttl_s: float, now: datetime) -> bool:
    """Whether a product enriched at `enriched_at` needs no refresh yet at `now`."""
    return now - enriched_at < timedelta(seconds=ttl_s)


def _resolved(product_id: str, detail: str | None = None) -> Enrichment:
    return Enrichment(EnrichOutcome("resolved", product_id=product_id, detail=detail))


async def plan_sku(
    sku: str, *, pool: asyncpg.Pool, stockx: CatalogSource, now: datetime, ttl_s: float
) -> Enrichment:
    """Resolve a style id (or a GTIN) exactly at StockX; never a near miss. Writes nothing."""
    if is_gtin(sku):
        return await plan_gtin(sku, pool=pool, stockx=stockx, now=now)
    async with pool.acquire() as conn:
        local = await queries.products_by_sku(conn, sku)
    if len(local) == 1 and fresh(local[0].last_enriched_at, ttl_s=ttl_s, now=now):
        return _resolved(local[0].id, "already in the catalog")
    resolution = await search_style(sku, stockx=stockx)
    found = resolution.stockx_product_id
    if found is None:
        candidates = list(resolution.candidates)
        return Enrichment(
            EnrichOutcome("unresolved", candidates=candidates, detail=resolution.reason)
        )
    remap = None
    if len(local) == 1 and local[0].stockx_product_id != found:
        # StockX shows this exact code under another id only: ours went stale. Remap it rather
        # than store a second product with the same code (lookups would turn ambiguous).
        old = local[0]
        remap = Remap(old.id, old.stockx_product_id, found, old.style_id)
    async with pool.acquire() as conn:
        known = await queries.product(conn, found)
    if known is not None and fresh(known.last_enriched_at, ttl_s=ttl_s, now=now):
        return Enrichment(EnrichOutcome("resolved", product_id=known.id), remap=remap)
    product = await fetch_product(found, stockx=stockx, now=now)
    return Enrichment(EnrichOutcome("resolved"), product, remap)


async def plan_gtin(
    gtin: str, *, pool: asyncpg.Pool, stockx: CatalogSource, now: datetime
) -> Enrichment:
    """Resolve a barcode through StockX's variants-by-GTIN endpoint (at most 3 calls)."""
    async with pool.acquire() as conn:
        known = await queries.variant_by_gtin(conn, gtin)
    if known is not None:
        return _resolved(known.product_id, "already in catalog")
    try:
        variant = await stockx.get_variants_by_gtin(gtin.strip(), priority=PRIORITY)
    except StockXNotFound:
        return Enrichment(
            EnrichOutcome("unresolved", detail="StockX knows no variant with this GTIN")
        )
    # The product may be stored without this barcode: store it again to learn it.
    product = await fetch_product(variant.product_id, stockx=stockx, now=now)
    return Enrichment(EnrichOutcome("resolved"), product)


async def write_enrichment(plan: Enrichment, *, conn: Conn) -> EnrichOutcome:
    """Write what `plan_sku` found inside the caller's transaction; the final outcome."""
    if plan.remap is not None:
        remap = plan.remap
        await repository.remap_product(
            conn, remap.product_id, remap.old_stockx_id, remap.new_stockx_id, remap.style_id
        )
    if plan.product is None:
        return plan.outcome
    return dataclasses.replace(plan.outcome, product_id=await store(plan.product, conn=conn))
