"""The production client (NATS-shared token and budget) against the StockX simulator
(tools/stockx_sim), served in-process through `httpx.ASGITransport`: every one of the 32
operations, the asynchronous write model and the simulator's error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import nats
import pytest

from soleflip.common.bus.names import Names
from soleflip.common.crypto import Crypto
from soleflip.common.settings import Settings
from soleflip.common.stockx import (
    ActiveOrderFilters,
    BatchCreateItem,
    BatchDeleteItem,
    BatchUpdateItem,
    IngestionInput,
    ListingFilters,
    StockXBadRequest,
    StockXClient,
    StockXNotFound,
)

sim = pytest.importorskip("soleflip.stockx_sim")
pytestmark = pytest.mark.usefixtures("kv_cleanup")

SETTINGS = Settings(
    stockx_api_url="http://sim.test/v2",
    stockx_auth_url="http://sim.test",
    stockx_client_id="sim-client",
    stockx_client_secret="sim-secret",
    stockx_refresh_token="sim-refresh",
    stockx_api_key="sim-api-key",
    stockx_rate_per_s=50,
    fernet_keys=(Crypto.generate_key(),),
)


@pytest.fixture
async def control() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client into a fresh simulator (no per-second limit: our budget paces us)."""
    app = sim.create_app(SETTINGS, sim.SimConfig(rate_per_s=0, settle_delay_s=0.2))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test/v2/") as http:
        yield http


@pytest.fixture
async def client(
    control: httpx.AsyncClient, nats_url: str, names: Names
) -> AsyncIterator[StockXClient]:
    nc = await nats.connect(nats_url)
    async with await StockXClient.connect(
        SETTINGS, nc.jetstream(), names=names, http=control
    ) as built:
        yield built
    await nc.close()


async def state(control: httpx.AsyncClient, kind: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await control.get(f"http://sim.test/_sim/state/{kind}")).json()[
        kind
    ]
    return items


async def test_catalog_operations(client: StockXClient, control: httpx.AsyncClient) -> None:
    product = (await state(control, "products"))[0]
    style = product["styleId"].split("/")[0]
    hits = [p async for p in client.iter_catalog_search(style, max_pages=2)]
    assert product["productId"] in {hit.product_id for hit in hits}
    got = await client.get_product(product["productId"])
    assert got.title == product["title"]
    variants = await client.get_product_variants(product["productId"])
    assert {v.variant_id for v in variants} == {v["variantId"] for v in product["variants"]}
    variant = await client.get_variant(product["productId"], variants[0].variant_id)
    assert variant.variant_id == variants[0].variant_id
    with_gtin = next(v for v in variants if v.gtins)
    by_gtin = await client.get_variants_by_gtin(with_gtin.gtins[0].identifier)
    assert by_gtin.variant_id == with_gtin.variant_id
    market = await client.get_product_market_data(product["productId"], currency_code="USD")
    assert len(market) == len(variants)
    one = await client.get_variant_market_data(product["productId"], variants[0].variant_id)
    assert one.currency_code == "USD"


async def test_a_style_id_in_place_of_a_product_id_is_not_found(client: StockXClient) -> None:
    with pytest.raises(StockXNotFound, match="Resource not found"):
        await client.get_product("DD1391-100")


async def test_listing_lifecycle_through_awaited_operations(
    client: StockXClient, control: httpx.AsyncClient
) -> None:
    variant_id = (await state(control, "products"))[1]["variants"][0]["variantId"]
    created = await client.create_listing(variant_id, Decimal("250"), currency_code="USD")
    assert created.operation_status == "PENDING"
    done = await client.await_operation(created.listing_id, created.operation_id, timeout=20)
    assert done.succeeded, done.error
    listing_id = created.listing_id
    for write in (
        client.update_listing(listing_id, amount=240),
        client.deactivate_listing(listing_id),
        client.activate_listing(listing_id, amount=245),
    ):
        operation = await write
        assert (
            await client.await_operation(listing_id, operation.operation_id, timeout=20)
        ).succeeded
    listing = await client.get_listing(listing_id)
    assert (listing.status, listing.amount) == ("ACTIVE", Decimal(245))
    page = await client.list_listings(ListingFilters(variant_ids=[variant_id]))
    assert listing_id in {item.listing_id for item in page.listings}
    history = [op async for op in client.iter_listing_operations(listing_id)]
    assert len(history) >= 4
    deleted = await client.delete_listing(listing_id)
    assert (await client.await_operation(listing_id, deleted.operation_id, timeout=20)).succeeded
    assert (await client.get_listing(listing_id)).status == "DELETED"


async def test_a_fractional_amount_never_leaves_the_client(client: StockXClient) -> None:
    from soleflip.common.errors import InvalidInput

    with pytest.raises(InvalidInput):
        await client.create_listing("v", Decimal("79.99"))


async def test_simulator_validation_error_is_a_typed_bad_request(client: StockXClient) -> None:
    with pytest.raises(StockXBadRequest):
        await client.create_listing("not-a-variant", 100)


async def test_batch_create_update_delete(client: StockXClient, control: httpx.AsyncClient) -> None:
    variant_id = (await state(control, "products"))[2]["variants"][0]["variantId"]
    started = await client.create_listings_batch(
        [BatchCreateItem(variant_id=variant_id, amount=Decimal(300), quantity=2)]
    )
    created = await client.await_batch(started.batch_id, kind="create", timeout=30)
    listing_ids = [i.result.listing_id for i in created.items if i.result and i.result.listing_id]
    assert len(listing_ids) == 2
    updates = [BatchUpdateItem(listing_id=i, amount=Decimal(290)) for i in listing_ids]
    updated = await client.update_listings_batch(updates)
    result = await client.await_batch(updated.batch_id, kind="update", timeout=30)
    assert {item.status for item in result.items} == {"COMPLETED"}
    assert (await client.get_update_listings_batch(updated.batch_id)).is_final
    removed = await client.delete_listings_batch(
        [BatchDeleteItem(listing_id=i) for i in listing_ids]
    )
    await client.await_batch(removed.batch_id, kind="delete", timeout=30)
    assert len(await client.get_delete_listings_batch_items(removed.batch_id)) == 2
    assert len(await client.get_create_listings_batch_items(started.batch_id)) == 2
    assert (await client.get_create_listings_batch(started.batch_id)).total_items == 2
    assert len(await client.get_update_listings_batch_items(updated.batch_id)) == 2
    assert (await client.get_delete_listings_batch(removed.batch_id)).is_final


async def test_orders_and_shipping_documents(
    client: StockXClient, control: httpx.AsyncClient
) -> None:
    active = [o async for o in client.iter_active_orders(ActiveOrderFilters(), page_size=5)]
    history = [o async for o in client.iter_order_history(page_size=5)]
    assert len(active) + len(history) == len(await state(control, "orders"))
    direct = next(o for o in active if o.inventory_type == "DIRECT")
    details = await client.get_shipment_details(direct.order_number)
    assert details.shipping_documents is not None
    order = await client.get_order(active[0].order_number)
    assert order.payout is not None
    assert order.shipment is not None
    shipping_id = order.shipment.shipping_id
    assert shipping_id
    pdf = b"".join([c async for c in client.get_shipping_document(order.order_number, shipping_id)])
    assert pdf.startswith(b"%PDF")


async def test_catalog_ingestion(client: StockXClient) -> None:
    accepted = await client.create_ingestion(
        [
            IngestionInput(
                category="sneakers",
                product_title="Test Runner",
                brand="Soleflip",
                product_images=("https://example.com/a.jpg",),
                variants=("9", "10"),
                retail_price="120",
                release_date="2025-01-01",
                country_of_origin="US",
                colorway="Black",
                gtin="0123456789012",
                gender="men",
                style_code="SF-001",
            )
        ]
    )
    items = await client.get_ingestion_items(accepted.ingestion_id)
    assert items
    assert items[0].status in {"In Review", "Completed", "Rejected"}
