"""The batch consumer: one upsert path, never backwards, exactly-once effects, DLQ for poison."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from soleflip.common.bus import Outgoing, list_dead_letters, replay
from soleflip.common.contracts import uuid7
from soleflip.orders.service import OrdersService
from tests.integration.orders.support import (
    event,
    listing_resource,
    order_resource,
    publish_events,
)
from tests.support.wait import until

ORDER = "stockx.order.updated"
LISTING = "stockx.listing.updated"


async def _count(service: OrdersService, sql: str, *args: object) -> int:
    async with service.pool.acquire() as conn:
        return int(await conn.fetchval(sql, *args))


async def _status(service: OrdersService, number: str) -> str | None:
    async with service.pool.acquire() as conn:
        status: str | None = await conn.fetchval(
            'SELECT status FROM "order" WHERE order_number = $1', number
        )
        return status


async def test_order_event_becomes_row_history_and_outbox_event(orders: OrdersService) -> None:
    number = f"1-{uuid7()}"
    await publish_events(orders.runtime.publisher, [event(ORDER, order_resource(number))])

    async def applied() -> bool:
        return await _status(orders, number) == "CREATED"

    await until(applied, 15)
    assert await _count(orders, "SELECT count(*) FROM order_status_history") == 1
    assert await _count(orders, "SELECT count(*) FROM outbox WHERE subject = $1",
                        "orders.order.upserted") == 1  # fmt: skip


async def test_same_event_three_times_has_one_effect(orders: OrdersService) -> None:
    number = f"1-{uuid7()}"
    same = event(ORDER, order_resource(number, "SHIPPED"))
    # Three copies under three message ids: JetStream's dedupe window does not catch them (a
    # relay retry days later), so only the inbox can.
    payload = msgspec.json.encode(same)
    copies = [Outgoing(f"ingest.{ORDER}", payload, f"{same['id']}:{n}") for n in range(3)]
    await orders.runtime.publisher.publish_many(copies)
    marker = f"1-{uuid7()}"
    await publish_events(orders.runtime.publisher, [event(ORDER, order_resource(marker))])

    async def done() -> bool:
        return await _status(orders, marker) == "CREATED"

    await until(done, 15)
    history = "SELECT count(*) FROM order_status_history WHERE order_number = $1"
    assert await _count(orders, history, number) == 1
    outbox = "SELECT count(*) FROM outbox WHERE convert_from(payload, 'UTF8') LIKE '%' || $1 || '%'"
    assert await _count(orders, outbox, number) == 1


async def test_late_older_event_does_not_move_order_backwards(orders: OrdersService) -> None:
    number = f"1-{uuid7()}"
    newer = order_resource(number, "AUTHENTICATED", "2026-01-03T10:00:00.000Z")
    older = order_resource(number, "SHIPPED", "2026-01-02T10:00:00.000Z")
    await publish_events(orders.runtime.publisher, [event(ORDER, newer)])

    async def first() -> bool:
        return await _status(orders, number) == "AUTHENTICATED"

    await until(first, 15)
    await publish_events(orders.runtime.publisher, [event(ORDER, older)])
    marker = f"1-{uuid7()}"
    await publish_events(orders.runtime.publisher, [event(ORDER, order_resource(marker))])

    async def done() -> bool:
        return await _status(orders, marker) == "CREATED"

    await until(done, 15)
    assert await _status(orders, number) == "AUTHENTICATED"
    # The late fact joins the history once (it did happen), but the row stays where it was.
    history = "SELECT count(*) FROM order_status_history WHERE order_number = $1"
    assert await _count(orders, history, number) == 2
    await publish_events(orders.runtime.publisher, [event(ORDER, older)])
    marker2 = f"1-{uuid7()}"
    await publish_events(orders.runtime.publisher, [event(ORDER, order_resource(marker2))])

    async def done_again() -> bool:
        return await _status(orders, marker2) == "CREATED"

    await until(done_again, 15)
    assert await _count(orders, history, number) == 2
    assert await _status(orders, number) == "AUTHENTICATED"


async def test_equal_timestamp_is_broken_by_status_rank(orders: OrdersService) -> None:
    number = f"1-{uuid7()}"
    at = "2026-01-02T10:00:00.000Z"
    later, earlier = order_resource(number, "RECEIVED", at), order_resource(number, "SHIPPED", at)
    await publish_events(orders.runtime.publisher, [event(ORDER, later), event(ORDER, earlier)])

    async def applied() -> bool:
        return await _status(orders, number) == "RECEIVED"

    await until(applied, 15)


async def test_unknown_status_is_kept_verbatim(orders: OrdersService) -> None:
    number = f"1-{uuid7()}"
    body = order_resource(number, "TELEPORTED", "2026-01-05T10:00:00.000Z")
    await publish_events(orders.runtime.publisher, [event(ORDER, body)])

    async def applied() -> bool:
        return await _status(orders, number) == "TELEPORTED"

    await until(applied, 15)


async def test_malformed_events_go_to_dlq_and_do_not_block(orders: OrdersService) -> None:
    bad = [
        event(ORDER, {"status": "CREATED"}),  # no orderNumber
        event(ORDER, {"orderNumber": "", "status": "CREATED"}),
        event(LISTING, {"listingId": "x", "status": "ACTIVE", "amount": "abc"}),
    ]
    number = f"1-{uuid7()}"
    good = event(ORDER, order_resource(number))
    await publish_events(orders.runtime.publisher, [*bad, good])

    async def applied() -> bool:
        return await _status(orders, number) == "CREATED"

    await until(applied, 15)
    js, names = orders.runtime.js, orders.runtime.names

    async def dead() -> bool:
        return len(await list_dead_letters(js, names, "orders-ingest")) == 3

    await until(dead, 15)
    letters = await list_dead_letters(js, names, "orders-ingest")
    assert all(letter.error for letter in letters)
    assert any("orderNumber" in letter.error for letter in letters)


async def test_sale_links_listing_stock_and_profit(orders: OrdersService) -> None:
    listing_id, number = str(uuid7()), f"1-{uuid7()}"
    purchase = {
        "sku": "DD1391-100",
        "size": "10",
        "size_type": "us m",
        "quantity": 1,
        "unit_cost": {"amount": "60.00", "currency": "EUR"},
        "purchased_at": "2025-12-20T10:00:00Z",
        "supplier": "shop",
        "external_id": f"po-{uuid7()}",
    }
    await publish_events(orders.runtime.publisher, [event("inventory.item.purchased", purchase)])

    async def stocked() -> bool:
        return await _count(orders, "SELECT count(*) FROM stock_item") == 1

    await until(stocked, 15)
    async with orders.pool.acquire() as conn:
        stock_id = await conn.fetchval("SELECT id FROM stock_item")
        await conn.execute("UPDATE stock_item SET variant_id = 'var-1' WHERE id = $1", stock_id)
    events = [
        event(LISTING, listing_resource(listing_id, "MATCHED")),
        event(ORDER, order_resource(number, listing_id=listing_id)),
    ]
    await publish_events(orders.runtime.publisher, events)

    async def linked() -> bool:
        return (
            await _count(orders, 'SELECT count(*) FROM "order" WHERE stock_item_id IS NOT NULL')
            == 1
        )

    await until(linked, 15)
    async with orders.pool.acquire() as conn:
        row = await conn.fetchrow('SELECT * FROM "order" WHERE order_number = $1', number)
        unit = await conn.fetchrow("SELECT * FROM stock_item WHERE id = $1", stock_id)
    assert row["net_proceeds"] == Decimal("79.76")
    assert row["fees_source"] == "estimate"
    assert row["profit"] == Decimal("19.76")
    assert row["roi"] == Decimal("0.3293")
    assert unit["status"] == "SOLD"
    assert unit["order_number"] == number


async def test_cancelled_sale_gives_its_unit_back(orders: OrdersService) -> None:
    number = f"1-{uuid7()}"
    purchase = {
        "sku": "DD1391-100",
        "size": "10",
        "size_type": "us m",
        "quantity": 1,
        "unit_cost": {"amount": "60.00", "currency": "EUR"},
        "purchased_at": "2025-12-20T10:00:00Z",
        "supplier": "shop",
        "external_id": f"po-{uuid7()}",
    }
    await publish_events(orders.runtime.publisher, [event("inventory.item.purchased", purchase)])

    async def stocked() -> bool:
        return await _count(orders, "SELECT count(*) FROM stock_item") == 1

    await until(stocked, 15)
    async with orders.pool.acquire() as conn:
        await conn.execute("UPDATE stock_item SET variant_id = 'var-1'")
    sold = order_resource(number, "CREATED", "2026-01-01T10:00:00.000Z")
    await publish_events(orders.runtime.publisher, [event(ORDER, sold)])

    async def linked() -> bool:
        return await _count(orders, "SELECT count(*) FROM stock_item WHERE status = 'SOLD'") == 1

    await until(linked, 15)
    cancelled = order_resource(number, "CANCELED", "2026-01-02T10:00:00.000Z")
    await publish_events(orders.runtime.publisher, [event(ORDER, cancelled)])

    async def released() -> bool:
        return (
            await _count(orders, "SELECT count(*) FROM stock_item WHERE status = 'IN_STOCK'") == 1
        )

    await until(released, 15)
    async with orders.pool.acquire() as conn:
        row = await conn.fetchrow('SELECT * FROM "order" WHERE order_number = $1', number)
    assert row["stock_item_id"] is None
    assert row["profit"] is None


async def test_one_poison_event_among_100_is_the_only_dead_letter_even_after_replay(
    orders: OrdersService,
) -> None:
    """A NUL reaches the consumer straight from the stream (no ingest in front to refuse it):
    Postgres refuses the batch; only the poison event may pay for it."""
    [runner] = [r for r in orders.runtime.consumers if r.durable == "orders-ingest"]
    await runner.stop(grace=5)  # publish first, so that all 100 arrive in one fetched batch
    numbers = [f"1-{uuid7()}" for _ in range(99)]
    events = [event(ORDER, order_resource(n)) for n in numbers]
    poison = event(ORDER, order_resource("a\u0000b"))
    events.insert(42, poison)
    await publish_events(orders.runtime.publisher, events)
    await runner.start()
    js, names = orders.runtime.js, orders.runtime.names

    async def counts() -> tuple[int, int, int]:
        return (
            await _count(orders, 'SELECT count(*) FROM "order"'),
            await _count(orders, "SELECT count(*) FROM order_status_history"),
            await _count(orders, "SELECT count(*) FROM outbox WHERE subject = $1",
                         "orders.order.upserted"),
        )  # fmt: skip

    async def dead_ids() -> list[str | None]:
        return [d.original_msg_id for d in await list_dead_letters(js, names, "orders-ingest")]

    async def settled() -> bool:
        return await counts() == (99, 99, 99) and await dead_ids() == [poison["id"]]

    await until(settled, 30)
    [replayed] = await replay(js, names, consumer="orders-ingest")
    assert replayed.dead_letter.original_msg_id == poison["id"]
    await until(settled, 30)  # dead-lettered again, alone
    assert (
        await _count(orders, 'SELECT count(*) FROM "order" WHERE order_number = ANY($1)', numbers)
        == 99
    )
