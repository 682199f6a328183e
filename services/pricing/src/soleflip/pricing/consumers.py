"""NATS edges of pricing: durable consumers that decode, claim the event in the inbox, call one
handler and commit. Errors map to ack/nak/term in the library's consumer runner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import msgspec

from soleflip.common.bus import ConsumerRunner, Handler, Message
from soleflip.common.contracts.catalog import (
    ProductRemapped,
    ProductUpserted,
    catalog_event_decoder,
)
from soleflip.common.contracts.ingest import StockxMarketUpdated
from soleflip.common.contracts.orders import (
    ListingUpserted,
    OrderUpserted,
    StockUpserted,
    orders_event_decoder,
)
from soleflip.common.db import UnitOfWork, claim
from soleflip.common.runtime import ServiceRuntime
from soleflip.pricing import handlers
from soleflip.pricing.service import PricingService

MARKET_DURABLE = "pricing-market"
ORDERS_DURABLE = "pricing-orders"
CATALOG_DURABLE = "pricing-catalog"
_market_decoder = msgspec.json.Decoder(StockxMarketUpdated)


class PricingConsumers:
    """The handlers behind pricing's three durable consumers."""

    def __init__(self, service: PricingService) -> None:
        self.runtime, self.clock = service.runtime, service.clock
        self.reject_after = timedelta(seconds=service.options.reject_after_s)
        self.fetch_timeout = service.options.consumer_fetch_timeout_s

    async def on_market(self, message: Message) -> None:
        event = _market_decoder.decode(message.data)
        items = event.data if isinstance(event.data, list) else [event.data]
        now = self.clock()
        observed = [handlers.from_webhook(item, event.time or now) for item in items]
        async with UnitOfWork(self.runtime.pool) as uow:
            if await claim(uow.conn, MARKET_DURABLE, event.id):
                await handlers.record_market(observed, conn=uow.conn, source="webhook", now=now)
            await uow.commit()

    async def on_orders(self, message: Message) -> None:
        event = orders_event_decoder.decode(message.data)
        now = self.clock()
        async with UnitOfWork(self.runtime.pool) as uow:
            if await claim(uow.conn, ORDERS_DURABLE, event.id):
                match event:
                    case ListingUpserted(data=listing):
                        await handlers.apply_listing(
                            listing, conn=uow.conn, now=now, reject_after=self.reject_after
                        )
                    case StockUpserted(data=stock):
                        await handlers.apply_stock(stock, conn=uow.conn, now=now)
                    case OrderUpserted(data=order):
                        await handlers.apply_order(order, conn=uow.conn, now=now)
            await uow.commit()

    async def on_catalog(self, message: Message) -> None:
        event = catalog_event_decoder.decode(message.data)
        async with UnitOfWork(self.runtime.pool) as uow:
            if await claim(uow.conn, CATALOG_DURABLE, event.id):
                match event:
                    case ProductUpserted(data=product):
                        await handlers.apply_product(product, conn=uow.conn, now=self.clock())
                    case ProductRemapped(data=remap):
                        await handlers.apply_remap(remap, conn=uow.conn)
            await uow.commit()


def register(runtime: ServiceRuntime, consumers: PricingConsumers) -> None:
    """Add the three consumers to the runtime (built once NATS is connected)."""
    specs = (
        ("INGEST", MARKET_DURABLE, ["ingest.stockx.market.updated"], consumers.on_market),
        ("ORDERS", ORDERS_DURABLE, ["orders.>"], consumers.on_orders),
        ("CATALOG", CATALOG_DURABLE, ["catalog.>"], consumers.on_catalog),
    )
    for stream, durable, subjects, handler in specs:
        runtime.add_consumer(_factory(stream, durable, subjects, handler, consumers.fetch_timeout))


def _factory(
    stream: str, durable: str, subjects: list[str], handler: Handler, fetch_timeout: float
) -> Callable[[ServiceRuntime], ConsumerRunner]:
    def build(rt: ServiceRuntime) -> ConsumerRunner:
        return ConsumerRunner(
            rt.nc,
            rt.names,
            stream=stream,
            durable=durable,
            subjects=subjects,
            handler=handler,
            publisher=rt.publisher,
            # Shutdown waits for a fetch in flight, consumer by consumer: keep each wait short.
            fetch_timeout=fetch_timeout,
        )

    return build
