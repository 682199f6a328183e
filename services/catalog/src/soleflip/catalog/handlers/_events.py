"""Events that mention products: a relayed StockX product, and purchases, orders, listings and
stock naming products or SKUs the catalog may not hold yet (enriched on demand).

Each planner reads and asks StockX first (given the pool, it only reads) and returns
`Enrichment`s; the consumer writes them with `write_all` in one short transaction together with
its inbox claim, and commits it.

A relayed product whose id already answers 404 (StockX re-keyed it after the relay saw it) is a
legitimate event, not poison: dead-lettering it would only loop it through the DLQ. When we
hold the product, its stored variants are kept and the refresh poller remaps the id later. When
we do not, the event's style id finds the product again exactly (as any SKU enrichment would);
an event without a style id, or whose style id has no exact match, is ignored with a warning
and counted in `soleflip_catalog_product_events{outcome="ignored"}`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from soleflip.catalog import queries
from soleflip.catalog.handlers._enrich import (
    Enrichment,
    EnrichOutcome,
    plan_sku,
    write_enrichment,
)
from soleflip.catalog.handlers._source import (
    PRIORITY,
    CatalogSource,
    Fetched,
    fetch_product,
    fetched,
)
from soleflip.catalog.metrics import PRODUCT_EVENTS
from soleflip.common.db import Conn
from soleflip.common.observability import get_logger
from soleflip.common.stockx import Product, ProductVariant, StockXNotFound

log = get_logger(__name__)


def _stored(product: Fetched) -> Enrichment:
    return Enrichment(EnrichOutcome("resolved"), product)


async def plan_product_event(
    raw: dict[str, Any],
    *,
    pool: asyncpg.Pool,
    stockx: CatalogSource,
    now: datetime,
    sent_at: datetime | None,
    ttl_s: float,
) -> list[Enrichment]:
    """A relayed StockX product resource; its variants are fetched only when new to us."""
    product = msgspec.convert(raw, Product)
    source_time = sent_at or now
    raw_variants = raw.get("variants")
    if raw_variants is not None:
        variants = msgspec.convert(raw_variants, list[ProductVariant])
        return [_stored(fetched(product, variants, source_time=source_time, scope="some"))]
    async with pool.acquire() as conn:
        known = await queries.known_stockx_ids(conn, [product.product_id])
    if known:  # keep the variants we hold
        return [_stored(fetched(product, [], source_time=source_time, scope="none"))]
    try:
        variants = await stockx.get_product_variants(product.product_id, priority=PRIORITY)
    except StockXNotFound:
        return await _plan_rekeyed(product, pool=pool, stockx=stockx, now=now, ttl_s=ttl_s)
    return [_stored(fetched(product, variants, source_time=source_time))]


async def _plan_rekeyed(
    product: Product, *, pool: asyncpg.Pool, stockx: CatalogSource, now: datetime, ttl_s: float
) -> list[Enrichment]:
    """An unknown product whose relayed id answers 404: found by style id, or let go."""
    if product.style_id:
        plan = await plan_sku(product.style_id, pool=pool, stockx=stockx, now=now, ttl_s=ttl_s)
        if plan.outcome.status == "resolved":
            PRODUCT_EVENTS.labels("resolved_by_style").inc()
            return [plan]
    PRODUCT_EVENTS.labels("ignored").inc()
    log.warning(
        "catalog.product_event_ignored",
        stockx_product_id=product.product_id,
        style_id=product.style_id,
        reason="the id answers 404 and no exact style-id match exists",
    )
    return []


async def plan_unknown(
    stockx_ids: list[str],
    skus: list[str],
    *,
    pool: asyncpg.Pool,
    stockx: CatalogSource,
    now: datetime,
    ttl_s: float,
) -> list[Enrichment]:
    """Enrich the products an event mentions that the catalog does not hold."""
    async with pool.acquire() as conn:
        missing = sorted(set(stockx_ids) - await queries.known_stockx_ids(conn, stockx_ids))
        unknown = [s for s in dict.fromkeys(skus) if not await queries.products_by_sku(conn, s)]
    plans = []
    for stockx_id in missing:
        try:
            plans.append(_stored(await fetch_product(stockx_id, stockx=stockx, now=now)))
        except StockXNotFound:
            # A stale id in someone else's event: the refresh poller remaps ours, not theirs.
            log.info("catalog.unknown_stockx_product", stockx_product_id=stockx_id)
    for sku in unknown:
        plan = await plan_sku(sku, pool=pool, stockx=stockx, now=now, ttl_s=ttl_s)
        if plan.outcome.status != "resolved":
            log.info("catalog.sku_unresolved", sku=sku, reason=plan.outcome.detail)
        plans.append(plan)
    return plans


async def write_all(plans: list[Enrichment], *, conn: Conn) -> None:
    """Write every plan inside the caller's transaction."""
    for plan in plans:
        await write_enrichment(plan, conn=conn)
