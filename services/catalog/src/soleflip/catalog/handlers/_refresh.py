"""The refresh of one stored product: re-fetched from StockX, or found again by style id when
its id now answers 404 (remapped, and announced with `catalog.product.remapped`).

`plan_refresh` makes the StockX calls with no connection held; `write_refresh` writes what it
learned inside the caller's transaction, which the poller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from soleflip.catalog import queries, repository
from soleflip.catalog.handlers._source import (
    CatalogSource,
    Fetched,
    fetch_product,
    search_style,
    store,
)
from soleflip.common.db import Conn
from soleflip.common.observability import get_logger
from soleflip.common.stockx import StockXNotFound

log = get_logger(__name__)

RefreshOutcome = Literal["refreshed", "remapped", "lost"]


@dataclass(frozen=True, slots=True)
class Refresh:
    """What refreshing one product learned at StockX, to be written by `write_refresh`."""

    stale: queries.StaleProduct
    outcome: RefreshOutcome
    #: The product as StockX shows it now (None when lost).
    product: Fetched | None = None


async def plan_refresh(
    stale: queries.StaleProduct, *, stockx: CatalogSource, now: datetime
) -> Refresh:
    """Re-fetch a product, or find it again by style id when its id answers 404. Writes nothing.

    "lost" means 404 and no exact style-id match: `write_refresh` keeps the product as is and
    marks it fresh, so the poller does not ask again every round.
    """
    try:
        product = await fetch_product(stale.stockx_product_id, stockx=stockx, now=now)
    except StockXNotFound:
        return await _find_again(stale, stockx=stockx, now=now)
    return Refresh(stale, "refreshed", product)


async def _find_again(
    stale: queries.StaleProduct, *, stockx: CatalogSource, now: datetime
) -> Refresh:
    new_id = None
    if stale.style_id:
        new_id = (await search_style(stale.style_id, stockx=stockx)).stockx_product_id
    if new_id is None or new_id == stale.stockx_product_id:
        return Refresh(stale, "lost")
    return Refresh(stale, "remapped", await fetch_product(new_id, stockx=stockx, now=now))


async def write_refresh(plan: Refresh, *, conn: Conn) -> RefreshOutcome:
    """Write what `plan_refresh` found inside the caller's transaction; its outcome."""
    stale = plan.stale
    if plan.product is None:
        log.warning("catalog.product_lost", product_id=stale.id, style_id=stale.style_id)
        await repository.touch_product(conn, stale.id)
        await repository.mark_missing(conn, stale.id)
        return plan.outcome
    if plan.outcome == "remapped":
        await repository.remap_product(
            conn, stale.id, stale.stockx_product_id, plan.product.stockx_product_id, stale.style_id
        )
    await store(plan.product, conn=conn)
    return plan.outcome
