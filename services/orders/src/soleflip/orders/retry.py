"""The leader's loop that keeps unresolved stock units in front of the catalog.

A unit whose variant is still `pending` is announced again (`orders.stock.upserted`) once per
`variant_retry_s`; the catalog enriches the SKUs it does not hold, within its StockX budget,
and its `catalog.product.upserted` resolves the unit.
"""

from __future__ import annotations

import asyncio

from soleflip.common.db import UnitOfWork
from soleflip.common.observability import get_logger
from soleflip.orders.handlers import retry_pending
from soleflip.orders.service import OrdersService

log = get_logger(__name__)


async def run_variant_retry(service: OrdersService) -> None:
    """One pass per `variant_retry_s`: re-announce the oldest pending units (a bounded batch)."""
    options = service.options
    while True:
        try:
            async with UnitOfWork(service.pool) as uow:
                count = await retry_pending(
                    conn=uow.conn,
                    older_than_s=options.variant_retry_s,
                    limit=options.variant_retry_batch,
                )
                await uow.commit()
            if count:
                log.info("stock.variant_retry", units=count)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("stock.variant_retry_failed")
        await asyncio.sleep(min(options.variant_retry_s, 60.0))
