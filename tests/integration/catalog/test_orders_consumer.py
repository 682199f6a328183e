"""`catalog-orders` in a real runtime: orders, listings and stock that mention a product the
catalog does not hold enrich it once; known products cost no call; poison goes to the DLQ."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import msgspec

from soleflip.catalog.consumers import ORDERS_DURABLE
from soleflip.catalog.service import CatalogService
from soleflip.common.bus import list_dead_letters
from soleflip.common.contracts import CloudEvent, encode_event, new_event
from soleflip.common.contracts.bounds import Money
from soleflip.common.contracts.orders import (
    LISTING_UPSERTED,
    ORDER_UPSERTED,
    SOURCE,
    STOCK_UPSERTED,
    ListingSnapshot,
    OrderSnapshot,
    StockSnapshot,
)
from tests.integration.catalog.support import send
from tests.support.sim import Sim
from tests.support.wait import until

PRODUCTS_SQL = "SELECT stockx_product_id FROM product ORDER BY 1"
INBOX_SQL = "SELECT count(*) FROM inbox WHERE consumer = $1"


def _event(kind: str, snapshot: msgspec.Struct) -> CloudEvent:
    return new_event(kind, msgspec.to_builtins(snapshot), source=SOURCE)


def _stock(sku: str) -> StockSnapshot:
    cost = Money(amount=Decimal("80.00"), currency="EUR")
    return StockSnapshot(
        stock_item_id=1, external_id="p-1", sku=sku, size="9", size_type="us m",
        status="in_stock", unit_cost=cost,
    )  # fmt: skip


async def _products(catalog: CatalogService, count: int) -> list[str]:
    pool = catalog.runtime.pool

    async def stored() -> bool:
        return len(await pool.fetch(PRODUCTS_SQL)) >= count

    await until(stored, 15)
    return [r[0] for r in await pool.fetch(PRODUCTS_SQL)]


async def _handled(catalog: CatalogService, count: int) -> None:
    async def claimed() -> bool:
        return int(await catalog.runtime.pool.fetchval(INBOX_SQL, ORDERS_DURABLE)) >= count

    await until(claimed, 15)


def _calls(sim: Sim, path: str) -> int:
    return sum(1 for r in sim.requests() if r["path"] == path)


async def test_orders_listings_and_stock_enrich_unknown_products(
    catalog: CatalogService, sim: Sim
) -> None:
    sim.seed(9, 15)
    products: list[dict[str, Any]] = sim.products()
    ordered, listed = products[5]["productId"], products[4]["productId"]
    order = OrderSnapshot(order_number="O-1", status="CREATED", product_id=ordered)
    listing = ListingSnapshot(listing_id="L-1", status="ACTIVE", product_id=listed)
    await send(catalog, ORDER_UPSERTED, _event(ORDER_UPSERTED, order))
    await send(catalog, LISTING_UPSERTED, _event(LISTING_UPSERTED, listing))
    await send(catalog, STOCK_UPSERTED, _event(STOCK_UPSERTED, _stock("cp9654")))

    stored = await _products(catalog, 3)

    cp9654 = next(p["productId"] for p in products if p["styleId"] == "CP9654")
    assert stored == sorted([ordered, listed, cp9654])


async def test_events_about_known_products_cost_no_stockx_call_and_apply_once(
    catalog: CatalogService, sim: Sim
) -> None:
    sim.seed(9, 15)
    product = sim.products()[5]["productId"]
    first = _event(
        ORDER_UPSERTED, OrderSnapshot(order_number="O-1", status="CREATED", product_id=product)
    )
    for copy in range(2):  # one event twice (distinct message ids): the inbox tells
        await send(catalog, ORDER_UPSERTED, first, copy)
    await _products(catalog, 1)
    later = OrderSnapshot(order_number="O-1", status="SHIPPED", product_id=product)
    await send(catalog, ORDER_UPSERTED, _event(ORDER_UPSERTED, later))
    await send(catalog, STOCK_UPSERTED, _event(STOCK_UPSERTED, _stock("B75806")))
    await _handled(catalog, 3)
    await asyncio.sleep(0.3)  # give the copy time to (not) act

    assert _calls(sim, f"/v2/catalog/products/{product}") == 1
    assert _calls(sim, "/v2/catalog/search") == 1  # only the stock item's unknown SKU


async def test_a_poison_orders_event_goes_to_the_dead_letter_queue(
    catalog: CatalogService, sim: Sim
) -> None:
    sim.seed(9, 15)
    schema_breaking = new_event(STOCK_UPSERTED, {"stock_item_id": "one"}, source=SOURCE)
    await catalog.runtime.publisher.publish(
        STOCK_UPSERTED, encode_event(schema_breaking), msg_id=schema_breaking.id
    )
    js, names = catalog.runtime.js, catalog.runtime.names

    async def dead() -> bool:
        return bool(await list_dead_letters(js, names, ORDERS_DURABLE))

    await until(dead, 15)
    letters = await list_dead_letters(js, names, ORDERS_DURABLE)
    assert [msgspec.json.decode(d.data)["id"] for d in letters] == [schema_breaking.id]
    assert sim.requests() == []
