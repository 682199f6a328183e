"""NATS edges of the catalog: decode an event, read the clock once, plan with the handlers,
write with one handler inside a unit of work and commit it.

`catalog-ingest` reads StockX product changes, enrichment requests and purchases (their SKU may
be new); `catalog-orders` reads orders, listings and stock, enriching products they mention that
the catalog does not hold yet. Each event is claimed in the `inbox` in the handler's transaction,
so a redelivery has no second effect; an undecodable event is poison and goes to the DLQ.

StockX calls happen before that transaction, with no connection held (they may wait long for
the shared budget); an event already in the inbox is skipped before any call. While a handler
waits, the `ConsumerRunner` tells the server it is in progress every `ack_wait / 3`, so the
default ack wait holds; the consumers fetch one message at a time, because only the message in
hand is kept alive that way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

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
from soleflip.common.db import Conn, UnitOfWork, claim, seen

if TYPE_CHECKING:
    from soleflip.catalog.service import CatalogService

INGEST_DURABLE = "catalog-ingest"
INGEST_SUBJECTS = (
    "ingest.stockx.product.updated",
    "ingest.catalog.enrichment.requested",
    "ingest.inventory.item.purchased",
)
ORDERS_DURABLE = "catalog-orders"
# The known types only: a future orders event type must not land in our DLQ as poison.
ORDERS_SUBJECTS = (ORDER_UPSERTED, LISTING_UPSERTED, STOCK_UPSERTED)

#: One message at a time: see the module docstring.
BATCH_SIZE = 1

Apply = Callable[[Conn], Awaitable[None]]


class CatalogConsumers:
    """The message handlers of both consumers, bound to the service (tests may hand in another
    StockX source)."""

    def __init__(
        self, service: CatalogService, *, stockx: Callable[[], CatalogSource] | None = None
    ) -> None:
        self.service, self.ttl_s = service, service.options.refresh_ttl_s
        self._stockx = stockx or (lambda: service.stockx)

    def stockx(self) -> CatalogSource:
        return self._stockx()

    async def _seen(self, durable: str, event_id: str) -> bool:
        """Already applied: skip it before spending StockX calls on it."""
        return await seen(self.service.pool, durable, event_id)

    async def _once(self, durable: str, event_id: str, apply: Apply) -> None:
        async with UnitOfWork(self.service.pool) as uow:
            if await claim(uow.conn, durable, event_id):
                await apply(uow.conn)
            await uow.commit()

    async def handle_ingest(self, message: Message) -> None:
        event = ingest_event_decoder.decode(message.data)
        if await self._seen(INGEST_DURABLE, event.id):
            return
        now = self.service.now()
        plans: list[handlers.Enrichment] = []
        match event:
            case StockxProductUpdated():
                plans = await handlers.plan_product_event(
                    message.event().data,
                    pool=self.service.pool,
                    stockx=self.stockx(),
                    now=now,
                    sent_at=event.time,
                    ttl_s=self.ttl_s,
                )
            case CatalogEnrichmentRequested(data=request):

                async def create(conn: Conn) -> None:
                    await jobs.create_job(conn, request.skus, source="event")

                await self._once(INGEST_DURABLE, event.id, create)
                self.service.wake_jobs()
                return
            case InventoryItemPurchased(data=purchase):
                plans = await self._unknown([], [purchase.sku], now)
            case _:
                return  # the filter subjects admit nothing else
        await self._write(INGEST_DURABLE, event.id, plans)

    async def handle_orders(self, message: Message) -> None:
        event = orders_event_decoder.decode(message.data)
        if await self._seen(ORDERS_DURABLE, event.id):
            return
        now = self.service.now()
        stockx_ids: list[str] = []
        skus: list[str] = []
        match event:
            case OrderUpserted(data=order) if order.product_id:
                stockx_ids.append(order.product_id)
            case ListingUpserted(data=listing) if listing.product_id:
                stockx_ids.append(listing.product_id)
            case StockUpserted(data=stock):
                skus.append(stock.sku)
        plans = await self._unknown(stockx_ids, skus, now)
        await self._write(ORDERS_DURABLE, event.id, plans)

    async def _unknown(
        self, stockx_ids: list[str], skus: list[str], now: datetime
    ) -> list[handlers.Enrichment]:
        return await handlers.plan_unknown(
            stockx_ids,
            skus,
            pool=self.service.pool,
            stockx=self.stockx(),
            now=now,
            ttl_s=self.ttl_s,
        )

    async def _write(self, durable: str, event_id: str, plans: list[handlers.Enrichment]) -> None:
        async def apply(conn: Conn) -> None:
            await handlers.write_all(plans, conn=conn)

        await self._once(durable, event_id, apply)
