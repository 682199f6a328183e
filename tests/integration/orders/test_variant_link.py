"""Variant at purchase, against the simulator with the real catalog and orders runtimes.

Listings here are the simulator's own (seeded: as if made in the StockX app, never through
SoleFlip). A purchase reaches both services as `inventory.item.purchased`; the catalog
enriches it from StockX and publishes the product, orders resolves the unit's variant from
that event, and a sale of any listing of the variant takes the unit.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from soleflip.catalog.app import build_service
from soleflip.catalog.settings import CatalogSettings
from soleflip.common.contracts import uuid7
from soleflip.common.db import migrate
from soleflip.common.settings import Settings
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from soleflip.orders.sync import backfill
from tests.integration.orders.support import (
    event,
    publish_events,
    run_service,
    running_sim,
    sim_config,
    sim_get,
    sim_post,
    wait_for_poll,
    with_sim,
)
from tests.support.wait import until


@dataclass
class World:
    """The simulator, the catalog and orders of one test."""

    sim: str
    orders: OrdersService
    settings: Settings

    async def unit(self, external_id: str) -> dict[str, Any]:
        async with self.orders.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT * FROM stock_item WHERE external_id = $1", external_id
            )
        return dict(row) if row else {}

    async def order(self, number: str) -> dict[str, Any]:
        async with self.orders.pool.acquire() as conn:
            row = await conn.fetchrow('SELECT * FROM "order" WHERE order_number = $1', number)
        return dict(row) if row else {}


@pytest.fixture
async def world(orders_settings: Settings) -> AsyncIterator[World]:
    migrations = importlib.resources.files("soleflip.catalog").joinpath("migrations")
    await migrate(orders_settings.database_url, "catalog", migrations)
    async with running_sim(sim_config(orders=0, listings=30)) as url:
        settings = with_sim(orders_settings, url)
        catalog = build_service(settings, CatalogSettings(refreshing=False, fetch_timeout_s=0.4))
        options = OrdersSettings(poll_interval_s=3600)
        async with catalog.runtime.lifespan(), run_service(settings, options) as orders:
            await wait_for_poll(orders)
            yield World(url, orders, settings)


async def app_listings(sim: str) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """Active seeded listings whose product has a style id: (listing, product, variant)."""
    listings = (await sim_get(sim, "/_sim/state/listings"))["listings"]
    products = {p["productId"]: p for p in (await sim_get(sim, "/_sim/state/products"))["products"]}
    found = []
    for listing in listings:
        product = products.get(listing["product"]["productId"])
        if listing["status"] != "ACTIVE" or not product or not product["styleId"]:
            continue
        variant = next(
            v for v in product["variants"] if v["variantId"] == listing["variant"]["variantId"]
        )
        found.append((listing, product, variant))
    return found


def purchase_of(
    listing: dict[str, Any], product: dict[str, Any], variant: dict[str, Any]
) -> dict[str, Any]:
    """A purchase of the listing's pair: EUR 119 with 19 % VAT, 5 shipping, 2 other."""
    currency = listing["currencyCode"]
    return {
        "sku": product["styleId"].lower(),  # as a seller types it: case does not matter
        "size": variant["variantValue"],
        "size_type": variant["sizeChart"]["defaultConversion"]["type"],
        "quantity": 1,
        "unit_cost": {"amount": "119.00", "currency": currency},
        "vat_rate_pct": "19",
        "inbound_shipping": {"amount": "5.00", "currency": currency},
        "other_costs": {"amount": "2.00", "currency": currency},
        "purchased_at": "2026-01-10T10:00:00Z",
        "supplier": "Nike SNKRS",
        "external_id": f"po-{uuid7()}",
    }


async def record(world: World, purchase: dict[str, Any]) -> dict[str, Any]:
    publisher = world.orders.runtime.publisher
    await publish_events(publisher, [event("inventory.item.purchased", purchase)])

    async def resolved() -> dict[str, Any] | None:
        unit = await world.unit(purchase["external_id"])
        return unit if unit.get("variant_status") == "resolved" else None

    return await until(resolved, 60, what="the unit's variant resolved through the catalog")


async def sell(world: World, listing_id: str) -> str:
    order = await sim_post(world.sim, "/_sim/orders", {"listing_id": listing_id})
    await wait_for_poll(world.orders)
    return str(order["orderNumber"])


async def linked_order(world: World, number: str) -> dict[str, Any]:
    async def priced() -> dict[str, Any] | None:
        order = await world.order(number)
        return order if order.get("profit") is not None else None

    return await until(priced, 30, what=f"order {number} linked and priced")


async def test_a_sale_of_a_listing_made_at_stockx_takes_the_unit_and_its_landed_cost(
    world: World,
) -> None:
    listing, product, variant = (await app_listings(world.sim))[0]
    unit = await record(world, purchase_of(listing, product, variant))
    assert unit["variant_id"] == variant["variantId"]
    assert unit["landed_cost"] == Decimal("126.00")  # 119 + 5 + 2, VAT not reclaimable
    number = await sell(world, listing["listingId"])
    order = await linked_order(world, number)
    assert order["stock_item_id"] == unit["id"]
    assert order["landed_cost"] == Decimal("126.00")
    assert order["profit"] == order["net_proceeds"] - Decimal("126.00")
    sold = await world.unit(unit["external_id"])
    assert (sold["status"], sold["order_number"]) == ("SOLD", number)


async def test_a_purchase_recorded_after_its_sale_attaches_to_it(world: World) -> None:
    listing, product, variant = (await app_listings(world.sim))[1]
    number = await sell(world, listing["listingId"])
    assert (await world.order(number))["stock_item_id"] is None  # nothing owned yet
    unit = await record(world, purchase_of(listing, product, variant))
    order = await linked_order(world, number)
    assert order["stock_item_id"] == unit["id"]
    assert order["profit"] == order["net_proceeds"] - Decimal("126.00")


async def test_an_unknown_style_id_stays_pending(world: World) -> None:
    purchase = purchase_of(*(await app_listings(world.sim))[0]) | {"sku": "ZZ0000-000"}
    await publish_events(
        world.orders.runtime.publisher, [event("inventory.item.purchased", purchase)]
    )

    async def recorded() -> dict[str, Any] | None:
        return (await world.unit(purchase["external_id"])) or None

    unit = await until(recorded, 30, what="the unit recorded")
    assert (unit["variant_status"], unit["variant_id"]) == ("pending", None)


async def test_adopted_listings_get_one_unit_each_and_their_sale_is_linked(world: World) -> None:
    active = {x["listingId"] for x, _, _ in await app_listings(world.sim)}
    _, adopted = await backfill(world.settings, "listings", None, progress=False, adopt=True)
    assert adopted >= len(active) > 0
    _, again = await backfill(world.settings, "listings", None, progress=False, adopt=True)
    assert again == 0  # idempotent: a listing is adopted once
    listing_id = sorted(active)[0]
    async with world.orders.pool.acquire() as conn:
        unit = dict(
            await conn.fetchrow("SELECT * FROM stock_item WHERE listing_id = $1", listing_id)
        )
        owner = await conn.fetchval(
            "SELECT stock_item_id FROM listing WHERE listing_id = $1", listing_id
        )
    assert (unit["status"], unit["cost_missing"], unit["landed_cost"]) == ("LISTED", True, None)
    assert unit["variant_status"] == "resolved"
    assert owner == unit["id"]
    number = await sell(world, listing_id)

    async def linked() -> dict[str, Any] | None:
        order = await world.order(number)
        return order if order.get("stock_item_id") else None

    order = await until(linked, 30, what="the adopted listing's sale linked")
    assert order["stock_item_id"] == unit["id"]
    assert order["profit"] is None  # the cost is unknown: no invented profit
    assert (await world.unit(unit["external_id"]))["status"] == "SOLD"
