"""Every one of the 32 operations: method, path, query/body on the wire and the typed result,
decoded from the examples in StockX's own OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from soleflip.common.stockx import (
    BatchCreateItem,
    BatchDeleteItem,
    BatchStatus,
    BatchUpdateItem,
    IngestionCreated,
    IngestionInput,
    Listing,
    ListingFilters,
    ListingOperation,
    ListingsPage,
    OperationsPage,
    Order,
    OrderHistoryFilters,
    OrdersPage,
    Product,
    ProductVariantDetails,
    SearchPage,
    ShipmentDetails,
    StockXClient,
    VariantMarketData,
)
from tests.unit.stockx_client.conftest import EXAMPLES, FakeStockX, json_response

Op = Callable[[StockXClient], Awaitable[Any]]

CASES: list[tuple[str, Op, str, str, type | None]] = [
    ("Search", lambda c: c.search_catalog("dunk"), "GET", "/catalog/search", SearchPage),
    ("GetProduct", lambda c: c.get_product("p1"), "GET", "/catalog/products/p1", Product),
    (
        "GetVariants",
        lambda c: c.get_product_variants("p1"),
        "GET",
        "/catalog/products/p1/variants",
        None,
    ),
    (
        "GetVariant",
        lambda c: c.get_variant("p1", "v1"),
        "GET",
        "/catalog/products/p1/variants/v1",
        ProductVariantDetails,
    ),
    (
        "GetVariantMarketData",
        lambda c: c.get_variant_market_data("p1", "v1"),
        "GET",
        "/catalog/products/p1/variants/v1/market-data",
        VariantMarketData,
    ),
    (
        "GetProductMarketData",
        lambda c: c.get_product_market_data("p1"),
        "GET",
        "/catalog/products/p1/market-data",
        None,
    ),
    (
        "GetVariantsByGtin",
        lambda c: c.get_variants_by_gtin("887231059577"),
        "GET",
        "/catalog/products/variants/gtins/887231059577",
        ProductVariantDetails,
    ),
    (
        "Ingestion",
        lambda c: c.create_ingestion([IngestionInput(category="sneakers")]),
        "POST",
        "/catalog/ingestion",
        IngestionCreated,
    ),
    ("IngestionItems", lambda c: c.get_ingestion_items("i1"), "GET", "/catalog/ingestion/i1", None),
    (
        "Create",
        lambda c: c.create_listing("v1", Decimal("102")),
        "POST",
        "/selling/listings",
        ListingOperation,
    ),
    ("GetAllListings", lambda c: c.list_listings(), "GET", "/selling/listings", ListingsPage),
    ("FindById", lambda c: c.get_listing("l1"), "GET", "/selling/listings/l1", Listing),
    (
        "Update",
        lambda c: c.update_listing("l1", amount=110),
        "PATCH",
        "/selling/listings/l1",
        ListingOperation,
    ),
    (
        "DeleteListing",
        lambda c: c.delete_listing("l1"),
        "DELETE",
        "/selling/listings/l1",
        ListingOperation,
    ),
    (
        "ActivateListing",
        lambda c: c.activate_listing("l1"),
        "PUT",
        "/selling/listings/l1/activate",
        ListingOperation,
    ),
    (
        "DeactivateListing",
        lambda c: c.deactivate_listing("l1"),
        "PUT",
        "/selling/listings/l1/deactivate",
        ListingOperation,
    ),
    (
        "FindOperationById",
        lambda c: c.get_listing_operation("l1", "o1"),
        "GET",
        "/selling/listings/l1/operations/o1",
        ListingOperation,
    ),
    (
        "GetListingOperations",
        lambda c: c.list_listing_operations("l1"),
        "GET",
        "/selling/listings/l1/operations",
        OperationsPage,
    ),
    (
        "CreateListings",
        lambda c: c.create_listings_batch([BatchCreateItem(variant_id="v1", amount=Decimal(90))]),
        "POST",
        "/selling/batch/create-listing",
        BatchStatus,
    ),
    (
        "GetListingCreateBatch",
        lambda c: c.get_create_listings_batch("b1"),
        "GET",
        "/selling/batch/create-listing/b1",
        BatchStatus,
    ),
    (
        "GetListingCreateBatchItems",
        lambda c: c.get_create_listings_batch_items("b1"),
        "GET",
        "/selling/batch/create-listing/b1/items",
        None,
    ),
    (
        "UpdateListings",
        lambda c: c.update_listings_batch([BatchUpdateItem(listing_id="l1", amount=Decimal(95))]),
        "POST",
        "/selling/batch/update-listing",
        BatchStatus,
    ),
    (
        "GetListingUpdateBatch",
        lambda c: c.get_update_listings_batch("b1"),
        "GET",
        "/selling/batch/update-listing/b1",
        BatchStatus,
    ),
    (
        "GetListingUpdateBatchItems",
        lambda c: c.get_update_listings_batch_items("b1"),
        "GET",
        "/selling/batch/update-listing/b1/items",
        None,
    ),
    (
        "DeleteListings",
        lambda c: c.delete_listings_batch([BatchDeleteItem(listing_id="l1")]),
        "POST",
        "/selling/batch/delete-listing",
        BatchStatus,
    ),
    (
        "GetListingDeleteBatch",
        lambda c: c.get_delete_listings_batch("b1"),
        "GET",
        "/selling/batch/delete-listing/b1",
        BatchStatus,
    ),
    (
        "GetListingDeleteBatchItems",
        lambda c: c.get_delete_listings_batch_items("b1"),
        "GET",
        "/selling/batch/delete-listing/b1/items",
        None,
    ),
    ("GetOrders", lambda c: c.list_active_orders(), "GET", "/selling/orders/active", OrdersPage),
    (
        "GetHistoricalOrders",
        lambda c: c.list_order_history(),
        "GET",
        "/selling/orders/history",
        OrdersPage,
    ),
    (
        "GetOrder",
        lambda c: c.get_order("323314425-323214184"),
        "GET",
        "/selling/orders/323314425-323214184",
        Order,
    ),
    (
        "GetOrderShipmentDocuments",
        lambda c: c.get_shipment_details("06-9XUDDWG8F1"),
        "GET",
        "/selling/orders/06-9XUDDWG8F1/shipping-document",
        ShipmentDetails,
    ),
]


@pytest.mark.parametrize(
    ("operation", "invoke", "method", "path", "result_type"), CASES, ids=[case[0] for case in CASES]
)
async def test_operation_sends_the_documented_request_and_decodes_the_example(
    client: StockXClient,
    fake: FakeStockX,
    operation: str,
    invoke: Op,
    method: str,
    path: str,
    result_type: type | None,
) -> None:
    fake.queue.append(json_response(200, EXAMPLES[operation]))
    result = await invoke(client)
    request = fake.api_calls[0]
    assert (request.method, request.url.path) == (method, "/v2" + path)
    assert request.headers["x-api-key"] == "api-key-123"
    assert request.headers["authorization"] == "Bearer access-1"
    if result_type is None:
        assert isinstance(result, list | tuple)
        assert len(result) == 1
    else:
        assert isinstance(result, result_type)


def test_the_table_covers_31_json_operations_of_the_openapi_document() -> None:
    # The 32nd (the shipping label PDF) is covered in test_shipping_document.
    assert sorted(case[0] for case in CASES) == sorted(EXAMPLES)


async def test_money_decodes_to_decimal_from_strings_and_numbers(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.queue.append(json_response(200, EXAMPLES["GetOrder"]))
    order = await client.get_order("o1")
    assert order.amount == Decimal("140")
    assert order.payout is not None
    assert order.payout.total_payout == Decimal("76.81")
    assert order.payout.total_adjustments == Decimal("-7")
    assert order.payout.adjustments[0].percentage == Decimal("0.1")
    assert order.shipment is not None
    assert order.shipment.shipping_id == "S-123"


async def test_batch_item_counts_quoted_as_strings_decode_to_ints(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.queue.append(json_response(200, EXAMPLES["GetListingCreateBatch"]))
    batch = await client.get_create_listings_batch("b1")
    assert batch.item_statuses == {"queued": 20, "failed": 1}


async def test_market_data_keeps_beat_us_and_nested_segments(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.queue.append(json_response(200, EXAMPLES["GetVariantMarketData"]))
    data = await client.get_variant_market_data("p1", "v1", currency_code="GBP")
    assert data.standard_market_data is not None
    assert isinstance(data.standard_market_data.beat_us, Decimal)
    assert fake.api_calls[0].url.params["currencyCode"] == "GBP"


async def test_list_filters_go_out_as_plain_comma_separated_values(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.queue.append(json_response(200, EXAMPLES["GetAllListings"]))
    filters = ListingFilters(
        listing_statuses=["ACTIVE", "INACTIVE"],
        product_ids=("p1", "p2"),
        from_date=date(2025, 1, 2),
        is_expired=True,
    )
    await client.list_listings(filters, page_number=3, page_size=100)
    params = fake.api_calls[0].url.params
    assert params["listingStatuses"] == "ACTIVE,INACTIVE"
    assert params["productIds"] == "p1,p2"
    assert params["fromDate"] == "2025-01-02"
    assert params["isExpired"] == "true"
    assert (params["pageNumber"], params["pageSize"]) == ("3", "100")
    assert "variantIds" not in params


async def test_history_filters_send_dates(client: StockXClient, fake: FakeStockX) -> None:
    fake.queue.append(json_response(200, EXAMPLES["GetHistoricalOrders"]))
    await client.list_order_history(
        OrderHistoryFilters(from_date=date(2025, 3, 1), inventory_types=["STANDARD", "FLEX"])
    )
    params = fake.api_calls[0].url.params
    assert (params["fromDate"], params["inventoryTypes"]) == ("2025-03-01", "STANDARD,FLEX")


async def test_listing_writes_send_whole_unit_amount_strings(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.default = json_response(201, EXAMPLES["Create"])
    expires = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    await client.create_listing("v1", Decimal("102.00"), currency_code="EUR", expires_at=expires)
    await client.activate_listing("l1")
    body = json.loads(fake.api_calls[0].content)
    assert body == {
        "variantId": "v1",
        "amount": "102",
        "currencyCode": "EUR",
        "expiresAt": "2026-01-02T03:04:05.678Z",
    }
    assert json.loads(fake.api_calls[1].content) == {}


async def test_batch_bodies_use_camel_case_and_whole_units(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.default = json_response(200, EXAMPLES["CreateListings"])
    await client.create_listings_batch(
        [BatchCreateItem(variant_id="v1", amount=Decimal(90), quantity=3, active=False)]
    )
    await client.delete_listings_batch([BatchDeleteItem(listing_id="l9")])
    assert json.loads(fake.api_calls[0].content) == {
        "items": [{"variantId": "v1", "amount": "90", "quantity": 3, "active": False}]
    }
    assert json.loads(fake.api_calls[1].content) == {"items": [{"listingId": "l9"}]}
