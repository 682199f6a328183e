"""NATS edge of orders: decode a fetched batch, apply it in one unit of work, settle each message.

`orders-ingest` consumes StockX order/listing changes, n8n purchases and FX rates from INGEST.
Undecodable or invalid events are dead-lettered one by one (with the reason) and never block the
rest; the valid ones are claimed in the inbox and applied together, so a batch costs a handful
of statements whatever its size.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

import msgspec

from soleflip.common.bus import ConsumerRunner, Message, Outcome
from soleflip.common.contracts.catalog import ProductUpserted, catalog_event_decoder
from soleflip.common.contracts.ingest import (
    FxRates,
    FxRatesPublished,
    InventoryItemPurchased,
    ItemPurchase,
    StockxListingUpdated,
    StockxOrderUpdated,
    ingest_event_decoder,
)
from soleflip.common.contracts.pricing import (
    FEES_UPDATED,
    MARKET_UPDATED,
    FeesUpdated,
    MarketUpdated,
    RepriceRequested,
    pricing_event_decoder,
)
from soleflip.common.db import UnitOfWork, claim, claim_many
from soleflip.common.errors import InvalidInput
from soleflip.common.stockx import Listing, Order
from soleflip.orders.handlers import (
    apply_fee_schedules,
    apply_listings,
    apply_orders,
    apply_product,
    rates_of,
    record_market,
    record_purchases,
    record_rates,
    reprice_listings,
)

if TYPE_CHECKING:
    from soleflip.common.runtime import ServiceRuntime
    from soleflip.orders.service import OrdersService

T = TypeVar("T")
INGEST_CONSUMER = "orders-ingest"
REPRICE_CONSUMER = "orders-reprice"
CATALOG_CONSUMER = "orders-catalog"
FEES_CONSUMER = "orders-fees"
MARKET_CONSUMER = "orders-market"
INGEST_SUBJECTS = (
    "ingest.stockx.order.*",
    "ingest.stockx.listing.*",
    "ingest.inventory.item.purchased",
    "ingest.fx.rates.published",
)


class _Resource(msgspec.Struct, Generic[T], frozen=True):
    """Only the `data` of an event, read in full as the StockX model the upsert path takes."""

    data: T


_order_resource = msgspec.json.Decoder(_Resource[Order])
_listing_resource = msgspec.json.Decoder(_Resource[Listing])
Change = Order | Listing | ItemPurchase | FxRates


def decode(message: Message) -> tuple[str, Change]:
    """The event's id and what to apply; raises (→ dead letter) when the event fails the shared
    ingest contract (bad JSON, a type orders does not take, missing or out-of-bounds fields).
    The contract checks what a relay must send; a StockX order or listing is then read in full
    from the same bytes, as the poll path reads it."""
    event = ingest_event_decoder.decode(message.data)
    match event:
        case StockxOrderUpdated():
            return event.id, _order_resource.decode(message.data).data
        case StockxListingUpdated():
            return event.id, _listing_resource.decode(message.data).data
        case InventoryItemPurchased(data=purchase):
            return event.id, purchase
        case FxRatesPublished(data=rates):
            return event.id, rates
    raise InvalidInput(f"orders-ingest does not take {type(event).__name__}")


async def apply_batch(service: OrdersService, messages: Sequence[Message]) -> list[Outcome]:
    """Decode, claim and apply a whole batch in one transaction; one outcome per message."""
    outcomes = [Outcome.ack()] * len(messages)
    events: list[tuple[str, Change]] = []
    for index, message in enumerate(messages):
        try:
            event_id, change = decode(message)
        except (msgspec.MsgspecError, InvalidInput) as exc:
            outcomes[index] = Outcome.dead(exc)
            continue
        # The envelope id is the event's identity (ingest uses it as Nats-Msg-Id too); keying the
        # inbox on it also catches a copy re-published under another message id.
        events.append((event_id or message.event_id or "", change))
    if events:
        await _apply(service, events)
    return outcomes


async def _apply(service: OrdersService, events: list[tuple[str, Change]]) -> None:
    async with UnitOfWork(service.pool) as uow:
        fresh = await claim_many(uow.conn, INGEST_CONSUMER, [eid for eid, _ in events])
        orders, listings, purchases, rates = [], [], [], []
        for event_id, change in events:
            if event_id not in fresh:
                continue  # seen before, or twice in this batch
            fresh.discard(event_id)
            match change:
                case Order():
                    orders.append(change)
                case Listing():
                    listings.append(change)
                case ItemPurchase():
                    purchases.append(change)
                case FxRates():
                    rates.append(change)
        fees = await service.fees(uow.conn)
        await apply_listings(listings, conn=uow.conn, source="webhook")
        await apply_orders(orders, conn=uow.conn, fees=fees, source="webhook")
        await record_purchases(purchases, conn=uow.conn, source="webhook")
        for source, found in rates_of(rates).items():
            await record_rates(found, conn=uow.conn, source=source)
        await uow.commit()


def ingest_consumer(service: OrdersService) -> ConsumerRunner:
    """The durable `orders-ingest` consumer with the batch handler."""
    runtime: ServiceRuntime = service.runtime

    async def handle(messages: Sequence[Message]) -> Sequence[Outcome]:
        return await apply_batch(service, messages)

    return ConsumerRunner(
        runtime.nc,
        runtime.names,
        stream="INGEST",
        durable=INGEST_CONSUMER,
        subjects=INGEST_SUBJECTS,
        batch_handler=handle,
        batch_size=service.options.batch_size,
        max_ack_pending=service.options.batch_size * 8,
        publisher=runtime.publisher,
    )


P = TypeVar("P", RepriceRequested, FeesUpdated, MarketUpdated)


def _pricing_events(
    messages: Sequence[Message], kind: type[P]
) -> tuple[list[Outcome], dict[str, P]]:
    """The batch's pricing events of `kind` by event id (first copy wins); an undecodable
    message is dead-lettered alone, other pricing types are acknowledged untouched."""
    outcomes = [Outcome.ack()] * len(messages)
    events: dict[str, P] = {}
    for index, message in enumerate(messages):
        try:
            event = pricing_event_decoder.decode(message.data)
        except msgspec.MsgspecError as exc:
            outcomes[index] = Outcome.dead(exc)
            continue
        if isinstance(event, kind):
            events.setdefault(event.id, event)
    return outcomes, events


async def apply_reprices(service: OrdersService, messages: Sequence[Message]) -> list[Outcome]:
    """Reprice commands of a batch: claimed and sent together (a batch update when many).

    When it raises on one command, the runner calls it again on halves of the batch: commands
    already sent to StockX in the rolled-back call are sent again, which sets the same price."""
    outcomes, commands = _pricing_events(messages, RepriceRequested)
    if commands:
        async with UnitOfWork(service.pool) as uow:
            fresh = await claim_many(uow.conn, REPRICE_CONSUMER, list(commands))
            requests = [c.data for eid, c in commands.items() if eid in fresh]
            await reprice_listings(
                requests,
                conn=uow.conn,
                stockx=service.stockx,
                threshold=service.options.batch_update_threshold,
            )
            await uow.commit()
    return outcomes


def _pricing_consumer(
    service: OrdersService,
    durable: str,
    subject: str,
    apply: Callable[[OrdersService, Sequence[Message]], Awaitable[list[Outcome]]],
    batch_size: int,
    ack_wait: float = 30.0,
) -> ConsumerRunner:
    """A durable batch consumer of one PRICING subject, applying each batch with `apply`."""
    runtime: ServiceRuntime = service.runtime

    async def handle(messages: Sequence[Message]) -> Sequence[Outcome]:
        return await apply(service, messages)

    return ConsumerRunner(
        runtime.nc,
        runtime.names,
        stream="PRICING",
        durable=durable,
        subjects=(subject,),
        batch_handler=handle,
        batch_size=batch_size,
        ack_wait=ack_wait,
        publisher=runtime.publisher,
    )


def reprice_consumer(service: OrdersService) -> ConsumerRunner:
    """The durable `orders-reprice` consumer of pricing's commands."""
    return _pricing_consumer(
        service,
        REPRICE_CONSUMER,
        "pricing.reprice.requested",
        apply_reprices,
        batch_size=200,
        ack_wait=120.0,
    )


async def apply_catalog(service: OrdersService, message: Message) -> None:
    """A catalog product: keep its copy and resolve the units waiting for its variants."""
    event = catalog_event_decoder.decode(message.data)
    async with UnitOfWork(service.pool) as uow:
        if await claim(uow.conn, CATALOG_CONSUMER, event.id):
            match event:
                case ProductUpserted(data=product):
                    await apply_product(product, conn=uow.conn, source="catalog")
        await uow.commit()


def catalog_consumer(service: OrdersService) -> ConsumerRunner:
    """The durable `orders-catalog` consumer of `catalog.product.upserted` (variant at purchase)."""
    runtime: ServiceRuntime = service.runtime

    async def handle(message: Message) -> None:
        await apply_catalog(service, message)

    return ConsumerRunner(
        runtime.nc,
        runtime.names,
        stream="CATALOG",
        durable=CATALOG_CONSUMER,
        subjects=("catalog.product.upserted",),
        handler=handle,
        publisher=runtime.publisher,
    )


async def apply_fee_updates(service: OrdersService, messages: Sequence[Message]) -> list[Outcome]:
    """New fee schedules of a batch: copied and applied to unpaid sales in one transaction."""
    outcomes, updates = _pricing_events(messages, FeesUpdated)
    if updates:
        async with UnitOfWork(service.pool) as uow:
            fresh = await claim_many(uow.conn, FEES_CONSUMER, list(updates))
            published = [u.data for eid, u in updates.items() if eid in fresh]
            await apply_fee_schedules(published, conn=uow.conn, load_fees=service.fees)
            await uow.commit()
    return outcomes


def fees_consumer(service: OrdersService) -> ConsumerRunner:
    """The durable `orders-fees` consumer of pricing's fee schedules (the one schedule)."""
    return _pricing_consumer(
        service, FEES_CONSUMER, FEES_UPDATED, apply_fee_updates, batch_size=100, ack_wait=120.0
    )


async def apply_market_updates(
    service: OrdersService, messages: Sequence[Message]
) -> list[Outcome]:
    """Market changes of a batch: the newest per variant and currency kept in one statement.
    No inbox claim: the write keeps the newest observation, so a repeat changes nothing."""
    outcomes, updates = _pricing_events(messages, MarketUpdated)
    if updates:
        async with UnitOfWork(service.pool) as uow:
            await record_market([u.data for u in updates.values()], conn=uow.conn)
            await uow.commit()
    return outcomes


def market_consumer(service: OrdersService) -> ConsumerRunner:
    """The durable `orders-market` consumer of pricing's market changes (value at market)."""
    return _pricing_consumer(
        service, MARKET_CONSUMER, MARKET_UPDATED, apply_market_updates, batch_size=500
    )
