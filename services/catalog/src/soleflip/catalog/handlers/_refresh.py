"""The refresh of one stored product: re-fetched from StockX, or found again by style id when
its id now answers 404 (remapped, and announced with `catalog.product.remapped`)."""

from __future__ import annotations

from typing import Literal

import asyncpg

from soleflip.catalog import queries, repository
from soleflip.catalog.handlers._source import CatalogSource, fetch_product, search_style, store
from soleflip.common.db import UnitOfWork
from soleflip.common.observability import get_logger
from soleflip.common.stockx import StockXNotFound

log = get_logger(__name__)

RefreshOutcome = Literal["refreshed", "remapped", "lost"]


async def refresh_product(
    pool: asyncpg.Pool, stockx: CatalogSource, stale: queries.StaleProduct
) -> RefreshOutcome:
    """Re-fetch a product (StockX calls first, then one short transaction).

    "lost" means 404 and no exact style-id match: the product is kept as is and marked fresh,
    so the poller does not ask again every round.
    """
    try:
        product = await fetch_product(stockx, stale.stockx_product_id)
    except StockXNotFound:
        return await _find_again(pool, stockx, stale)
    async with UnitOfWork(pool) as uow:
        await store(uow.conn, product)
        await uow.commit()
    return "refreshed"


async def _find_again(
    pool: asyncpg.Pool, stockx: CatalogSource, stale: queries.StaleProduct
) -> RefreshOutcome:
    new_id = None
    if stale.style_id:
        new_id = (await search_style(stockx, stale.style_id)).stockx_product_id
    if new_id is None or new_id == stale.stockx_product_id:
        log.warning("catalog.product_lost", product_id=stale.id, style_id=stale.style_id)
        async with pool.acquire() as conn:
            await repository.touch_product(conn, stale.id)
            await repository.mark_missing(conn, stale.id)
        return "lost"
    product = await fetch_product(stockx, new_id)
    async with UnitOfWork(pool) as uow:
        await repository.remap_product(
            uow.conn, stale.id, stale.stockx_product_id, new_id, stale.style_id
        )
        await store(uow.conn, product)
        await uow.commit()
    return "remapped"
