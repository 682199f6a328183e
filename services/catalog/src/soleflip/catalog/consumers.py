"""NATS edges of the catalog: decode an event, call one handler inside a unit of work.

`catalog-ingest` reads StockX product changes, enrichment requests and purchases (their SKU may
be new); `catalog-orders` reads orders, listings and stock, enriching products they mention that
the catalog does not hold yet. Each event is claimed in the `inbox` in the handler's transaction,
so a redelivery has no second effect; an undecodable event is poison and goes to the DLQ.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from soleflip.catalog import handlers, jobs
from soleflip.catalog.handlers import CatalogSource
from soleflip.common.bus import Message
from soleflip.common.contracts.ingest import (
    CatalogEnrichmentRequested,
    InventoryItemPurchased,
    StockxProductUpdated,
    ingest_event_decoder,
)
from soleflip.common.contracts.orders import (
    LISTING_UPSERTED,
    ORDER_UPSERTED,
    STOCK_UPSERTED,
    ListingUpserted,
    OrderUpserted,
    StockUpserted,
    orders_event_decoder,
)
from soleflip.common.db import Conn, UnitOfWork, claim

INGEST_DURABLE = "catalog-ingest"
INGEST_SUBJECTS = (
    "ingest.stockx.product.updated",
    "ingest.catalog.enrichment.requested",
    "ingest.inventory.item.purchased",
)
ORDERS_DURABLE = "catalog-orders"
# The known types only: a future orders event type must not land in our DLQ as poison.
ORDERS_SUBJECTS = (ORDER_UPSERTED, LISTING_UPSERTED, STOCK_UPSERTED)

Apply = Callable[[Conn], Awaitable[None]]


@dataclass(slots=True)
class CatalogConsumers:
    """The message handlers of both consumers, bound to the pool and the StockX client."""

    pool: Callable[[], asyncpg.Pool]
    stockx: Callable[[], CatalogSource]
    ttl_s: float
    on_job: Callable[[], None] = lambda: None

    async def _once(self, durable: str, event_id: str, apply: Apply) -> None:
        async with UnitOfWork(self.pool()) as uow:
            if await claim(uow.conn, durable, event_id):
                await apply(uow.conn)
            await uow.commit()

    async def handle_ingest(self, message: Message) -> None:
        event = ingest_event_decoder.decode(message.data)
        raw = message.event().data
        match event:
            case StockxProductUpdated():

                async def apply(conn: Conn) -> None:
                    await handlers.apply_product(conn, self.stockx(), raw)

            case CatalogEnrichmentRequested(data=request):

                async def apply(conn: Conn) -> None:
                    await jobs.create_job(conn, request.skus, source="event")
                    self.on_job()

            case InventoryItemPurchased(data=purchase):

                async def apply(conn: Conn) -> None:
                    await handlers.ensure_known(
                        conn, self.stockx(), stockx_ids=[], skus=[purchase.sku], ttl_s=self.ttl_s
                    )

            case _:
                return  # the filter subjects admit nothing else
        await self._once(INGEST_DURABLE, event.id, apply)

    async def handle_orders(self, message: Message) -> None:
        event = orders_event_decoder.decode(message.data)
        stockx_ids: list[str] = []
        skus: list[str] = []
        match event:
            case OrderUpserted(data=order) if order.product_id:
                stockx_ids.append(order.product_id)
            case ListingUpserted(data=listing) if listing.product_id:
                stockx_ids.append(listing.product_id)
            case StockUpserted(data=stock):
                skus.append(stock.sku)

        async def apply(conn: Conn) -> None:
            await handlers.ensure_known(
                conn, self.stockx(), stockx_ids=stockx_ids, skus=skus, ttl_s=self.ttl_s
            )

        await self._once(ORDERS_DURABLE, event.id, apply)
