"""Readable rows against real Postgres and NATS: orders, listings and units name their product
and size from orders' copy of `catalog.product.upserted`, also when the event comes later."""

from __future__ import annotations

import csv
import io
from typing import Any

from soleflip.common.contracts import encode_event, new_event, uuid7
from tests.integration.orders.conftest import Rest
from tests.integration.orders.support import (
    event,
    listing_resource,
    order_resource,
    publish_events,
)
from tests.support.wait import until

STYLE = "RR1414-001"


def _product(product_id: str, variant_id: str) -> dict[str, Any]:
    return {
        "product_id": f"c-{product_id}",
        "stockx_product_id": product_id,
        "title": "Dunk Low Panda",
        "brand": "Nike",
        "style_id": STYLE,
        "style_codes": [STYLE],
        "colorway": "White/Black",
        "image_url": "https://images.example/dunk.jpg",
        "variants": [
            {
                "variant_id": "cv-1",
                "stockx_variant_id": variant_id,
                "variant_value": "10",
                "default_size_type": "us m",
                "sizes": [{"type": "us m", "value": "10"}, {"type": "eu", "value": "44"}],
            }
        ],
    }


async def _seed(rest: Rest, product_id: str, variant_id: str) -> tuple[str, str, str]:
    """An order, a listing and a purchase of one variant, before the catalog knows it."""
    number, listing_id, external_id = f"o-{uuid7()}", f"l-{uuid7()}", f"po-{uuid7()}"
    order = order_resource(number, variant_id=variant_id, listing_id=listing_id)
    order["product"] = {"productId": product_id}
    listing = listing_resource(listing_id, variant_id=variant_id)
    listing["product"] = {"productId": product_id, "styleId": STYLE}
    purchase = {
        "sku": STYLE.lower(),
        "size": "10",
        "size_type": "us m",
        "quantity": 1,
        "unit_cost": {"amount": "90.00", "currency": "EUR"},
        "purchased_at": "2026-01-10T10:00:00Z",
        "supplier": "Nike SNKRS",
        "external_id": external_id,
    }
    await publish_events(
        rest.service.runtime.publisher,
        [
            event("stockx.listing.updated", listing),
            event("stockx.order.updated", order),
            event("inventory.item.purchased", purchase),
        ],
    )
    return number, listing_id, external_id


async def _rows(rest: Rest, number: str, listing_id: str) -> dict[str, Any] | None:
    order = await rest.call("GET", f"/api/v1/orders/{number}")
    listing = await rest.call("GET", f"/api/v1/listings/{listing_id}")
    stock = await rest.call("GET", "/api/v1/stock", params={"sku": STYLE})
    if order.status_code != 200 or listing.status_code != 200 or not stock.json()["items"]:
        return None
    return {"order": order.json(), "listing": listing.json(), "stock": stock.json()["items"][0]}


async def test_a_catalog_event_after_the_order_makes_its_rows_readable(rest: Rest) -> None:
    product_id, variant_id = f"prod-{uuid7()}", f"var-{uuid7()}"
    number, listing_id, _ = await _seed(rest, product_id, variant_id)
    before = await until(lambda: _rows(rest, number, listing_id), 30, what="rows stored")
    assert before["order"]["product"]["title"] is None
    assert before["listing"]["product"]["style_id"] == STYLE  # StockX's own, until the catalog
    assert before["stock"]["product"]["title"] is None
    assert before["stock"]["product"]["style_id"] == STYLE.lower()  # the SKU as typed

    catalog = new_event("catalog.product.upserted", _product(product_id, variant_id), source="t")
    await rest.service.runtime.publisher.publish(
        "catalog.product.upserted", encode_event(catalog), msg_id=catalog.id
    )

    async def readable() -> dict[str, Any] | None:
        rows = await _rows(rest, number, listing_id)
        done = rows and all(r["product"]["title"] for r in rows.values())
        return rows if done else None

    rows = await until(readable, 30, what="the catalog event applied to every row")
    expected = {
        "title": "Dunk Low Panda",
        "brand": "Nike",
        "style_id": STYLE,
        "colorway": "White/Black",
        "size_type": "us m",
        "size": "10",
        "image_url": "https://images.example/dunk.jpg",
    }
    for kind, row in rows.items():
        assert row["product"] == expected, kind
    assert rows["stock"]["variant_id"] == variant_id  # the same event resolved the unit
    async with rest.service.pool.acquire() as conn:  # the BI views show the same
        views = {
            "v_sales": await conn.fetchrow(
                "SELECT product_title, brand, style_id, colorway, image_url, variant_size"
                " FROM v_sales WHERE order_number = $1",
                number,
            ),
            "v_listings": await conn.fetchrow(
                "SELECT product_title, brand, style_id, colorway, image_url, size"
                " FROM v_listings WHERE listing_id = $1",
                listing_id,
            ),
            "v_inventory": await conn.fetchrow(
                "SELECT product_title, brand, style_id, colorway, image_url, size"
                " FROM v_inventory WHERE stock_item_id = $1",
                rows["stock"]["id"],
            ),
        }
    for view, row in views.items():
        assert tuple(row) == (
            "Dunk Low Panda",
            "Nike",
            STYLE,
            "White/Black",
            "https://images.example/dunk.jpg",
            "10",
        ), view


async def test_csv_exports_carry_the_readable_columns(rest: Rest) -> None:
    product_id, variant_id = f"prod-{uuid7()}", f"var-{uuid7()}"
    number, listing_id, _ = await _seed(rest, product_id, variant_id)
    await until(lambda: _rows(rest, number, listing_id), 30, what="rows stored")
    catalog = new_event("catalog.product.upserted", _product(product_id, variant_id), source="t")
    await rest.service.runtime.publisher.publish(
        "catalog.product.upserted", encode_event(catalog), msg_id=catalog.id
    )

    async def exported() -> dict[str, list[dict[str, str]]] | None:
        found = {}
        for path in ("/api/v1/orders", "/api/v1/listings", "/api/v1/stock"):
            answer = await rest.call("GET", path, params={"format": "csv"})
            assert answer.status_code == 200, answer.text
            found[path] = list(csv.DictReader(io.StringIO(answer.text)))
        titled = all(any(r["product_title"] for r in rows) for rows in found.values())
        return found if titled else None

    found = await until(exported, 30, what="CSV rows with the product")
    for path, rows in found.items():
        row = rows[0]
        assert (row["product_title"], row["brand"], row["style_id"], row["colorway"]) == (
            "Dunk Low Panda",
            "Nike",
            STYLE,
            "White/Black",
        ), path
        assert row["image_url"] == "https://images.example/dunk.jpg"
    assert (found["/api/v1/orders"][0]["size_type"], found["/api/v1/orders"][0]["size"]) == (
        "us m",
        "10",
    )
    assert found["/api/v1/stock"][0]["variant_size"] == "10"


async def test_the_payload_names_the_product_until_the_catalog_copy_does(rest: Rest) -> None:
    """StockX's order and listing payloads carry the product's name, style id and size: rows
    show them before the catalog event, and the catalog's figures win once it arrives."""
    product_id, variant_id = f"prod-{uuid7()}", f"var-{uuid7()}"
    number, listing_id = f"o-{uuid7()}", f"l-{uuid7()}"
    named = {"productId": product_id, "productName": "Nike Dunk Low Retro", "styleId": STYLE}
    order = order_resource(number, variant_id=variant_id, listing_id=listing_id)
    order["product"] = named
    order["variant"] = {"variantId": variant_id, "variantName": "Dunk:10.5", "variantValue": "10.5"}
    listing = listing_resource(listing_id, variant_id=variant_id)
    listing["product"] = named
    listing["variant"] = order["variant"]
    await publish_events(
        rest.service.runtime.publisher,
        [event("stockx.listing.updated", listing), event("stockx.order.updated", order)],
    )

    async def stored() -> dict[str, Any] | None:
        rows = {}
        for kind, path in (("order", f"/api/v1/orders/{number}"),
                           ("listing", f"/api/v1/listings/{listing_id}")):  # fmt: skip
            answer = await rest.call("GET", path)
            if answer.status_code != 200:
                return None
            rows[kind] = answer.json()["product"]
        return rows

    before = await until(stored, 30, what="order and listing stored")
    for kind, product in before.items():
        assert (product["title"], product["style_id"], product["size"]) == (
            "Nike Dunk Low Retro", STYLE, "10.5",
        ), kind  # fmt: skip
        assert product["brand"] is None, kind  # the payload has none
    exported = await rest.call("GET", "/api/v1/orders", params={"format": "csv"})
    ours = [r for r in csv.DictReader(io.StringIO(exported.text)) if r["order_number"] == number]
    assert [(r["product_title"], r["style_id"], r["size"]) for r in ours] == [
        ("Nike Dunk Low Retro", STYLE, "10.5")
    ]
    async with rest.service.pool.acquire() as conn:
        view = await conn.fetchrow(
            "SELECT product_title, style_id, variant_size FROM v_sales WHERE order_number = $1",
            number,
        )
    assert tuple(view) == ("Nike Dunk Low Retro", STYLE, "10.5")

    # A later status without the product keeps what the first payload said.
    later = dict(order, status="SHIPPED", updatedAt="2026-01-12T10:00:00.000Z")
    later["product"] = {"productId": product_id}
    await publish_events(rest.service.runtime.publisher, [event("stockx.order.updated", later)])

    async def shipped() -> dict[str, Any] | None:
        body = (await rest.call("GET", f"/api/v1/orders/{number}")).json()
        return body if body["status"] == "SHIPPED" else None

    assert (await until(shipped, 30, what="the later status"))["product"]["title"] == (
        "Nike Dunk Low Retro"
    )

    catalog = new_event("catalog.product.upserted", _product(product_id, variant_id), source="t")
    await rest.service.runtime.publisher.publish(
        "catalog.product.upserted", encode_event(catalog), msg_id=catalog.id
    )

    async def from_catalog() -> dict[str, Any] | None:
        rows = await stored()
        done = rows and all(p["brand"] == "Nike" for p in rows.values())
        return rows if done else None

    after = await until(from_catalog, 30, what="the catalog event applied")
    for kind, product in after.items():
        assert (product["title"], product["size_type"], product["size"]) == (
            "Dunk Low Panda", "us m", "10",
        ), kind  # fmt: skip
