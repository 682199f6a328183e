"""Page-number and cursor iteration, operation and batch polling, and the PDF stream."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from soleflip.common.stockx import (
    StockXClient,
    StockXNotFound,
    StockXPollTimeout,
    StockXUnexpectedResponse,
)
from tests.unit.stockx_client.conftest import EXAMPLES, FakeStockX, Sleeps, json_response


def listings_page(number: int, ids: list[str], has_next: bool) -> httpx.Response:
    listings = [{**EXAMPLES["GetAllListings"]["listings"][0], "listingId": i} for i in ids]
    return json_response(
        200,
        {
            "count": 99,
            "pageSize": 2,
            "pageNumber": number,
            "hasNextPage": has_next,
            "listings": listings,
        },
    )


async def test_iter_listings_walks_pages_until_has_next_page_is_false(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.queue = [listings_page(1, ["a", "b"], True), listings_page(2, ["c"], False)]
    ids = [listing.listing_id async for listing in client.iter_listings(page_size=2)]
    assert ids == ["a", "b", "c"]
    assert [r.url.params["pageNumber"] for r in fake.api_calls] == ["1", "2"]
    assert {r.url.params["pageSize"] for r in fake.api_calls} == {"2"}


async def test_iteration_is_lazy_page_by_page(client: StockXClient, fake: FakeStockX) -> None:
    fake.queue = [listings_page(1, ["a", "b"], True), listings_page(2, ["c"], False)]
    async for listing in client.iter_listings(page_size=2):
        assert listing.listing_id == "a"
        break
    assert len(fake.api_calls) == 1


async def test_an_empty_page_ends_iteration_even_if_has_next_page_lies(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.default = listings_page(1, [], True)
    assert [x async for x in client.iter_listings()] == []
    assert len(fake.api_calls) == 1


async def test_max_pages_bounds_a_server_that_always_has_a_next_page(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.default = listings_page(1, ["same"], True)
    items = [x async for x in client.iter_listings(max_pages=5)]
    assert len(items) == 5
    assert len(fake.api_calls) == 5


async def test_order_and_search_iterators_use_their_item_keys(
    client: StockXClient, fake: FakeStockX
) -> None:
    last = {"hasNextPage": False}
    fake.queue = [
        json_response(200, {**EXAMPLES["GetOrders"], **last}),
        json_response(200, {**EXAMPLES["GetHistoricalOrders"], **last}),
        json_response(200, {**EXAMPLES["Search"], **last}),
    ]
    active = [o async for o in client.iter_active_orders()]
    history = [o async for o in client.iter_order_history()]
    hits = [p async for p in client.iter_catalog_search("dunk")]
    assert (len(active), len(history), len(hits)) == (1, 1, 1)
    assert fake.api_calls[2].url.params["pageSize"] == "50"


def operations_page(ids: list[str], cursor: str | None) -> httpx.Response:
    op = EXAMPLES["FindOperationById"]
    return json_response(
        200, {"nextCursor": cursor, "operations": [{**op, "operationId": i} for i in ids]}
    )


async def test_cursor_pages_follow_next_cursor_until_null(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.queue = [operations_page(["1", "2"], "c1"), operations_page(["3"], None)]
    ids = [op.operation_id async for op in client.iter_listing_operations("l1")]
    assert ids == ["1", "2", "3"]
    assert "cursor" not in fake.api_calls[0].url.params
    assert fake.api_calls[1].url.params["cursor"] == "c1"


async def test_a_repeated_cursor_stops_iteration(client: StockXClient, fake: FakeStockX) -> None:
    fake.default = operations_page(["x"], "same")
    assert len([op async for op in client.iter_listing_operations("l1")]) == 2
    assert len(fake.api_calls) == 2


def operation(status: str, error: str | None = None) -> httpx.Response:
    op = {**EXAMPLES["FindOperationById"], "operationStatus": status, "error": error}
    return json_response(200, op)


async def test_await_operation_polls_with_backoff_until_final(
    client: StockXClient, fake: FakeStockX, sleeps: Sleeps
) -> None:
    fake.queue = [operation("PENDING"), operation("PENDING"), operation("PENDING")]
    fake.default = operation("FAILED", "can not perform this action")
    done = await client.await_operation("l1", "o1", timeout=60)
    assert done.operation_status == "FAILED"
    assert not done.succeeded
    assert done.error == "can not perform this action"
    assert len(fake.api_calls) == 4
    assert sleeps.calls == [1.0, 2.0, 4.0]


async def test_await_operation_raises_a_typed_error_at_its_timeout(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.default = operation("PENDING")
    client._t.sleep = asyncio.sleep
    with pytest.raises(StockXPollTimeout, match="o1"):
        await client.await_operation("l1", "o1", timeout=0.3)
    assert 1 <= len(fake.api_calls) <= 2


async def test_await_batch_waits_for_completed_and_returns_item_results(
    client: StockXClient, fake: FakeStockX, sleeps: Sleeps
) -> None:
    batch = EXAMPLES["GetListingCreateBatch"]
    fake.queue = [
        json_response(200, {**batch, "status": "QUEUED"}),
        json_response(200, {**batch, "status": "IN_PROGRESS"}),
        json_response(200, {**batch, "status": "COMPLETED"}),
        json_response(200, EXAMPLES["GetListingCreateBatchItems"]),
    ]
    result = await client.await_batch("b1", kind="create", timeout=60)
    assert result.batch.status == "COMPLETED"
    assert len(result.items) == 1
    assert fake.api_calls[-1].url.path == "/v2/selling/batch/create-listing/b1/items"
    assert sleeps.calls == [1.0, 2.0]


async def test_shipping_document_streams_pdf_bytes(client: StockXClient, fake: FakeStockX) -> None:
    pdf = b"%PDF-1.4\n" + b"x" * 100_000
    fake.default = httpx.Response(200, content=pdf, headers={"content-type": "application/pdf"})
    chunks = [c async for c in client.get_shipping_document("06-9X", "S-123")]
    assert b"".join(chunks) == pdf
    request = fake.api_calls[0]
    assert request.url.path == "/v2/selling/orders/06-9X/shipping-document/S-123"
    assert request.headers["accept"] == "application/pdf"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"message":"no label"}'),
        ("text/html", b"<html><title>Login</title></html>"),
        ("application/octet-stream", b"<!DOCTYPE html><html></html>"),
    ],
)
async def test_shipping_document_that_is_not_a_pdf_is_an_error(
    client: StockXClient, fake: FakeStockX, content_type: str, body: bytes
) -> None:
    fake.default = httpx.Response(200, content=body, headers={"content-type": content_type})
    with pytest.raises(StockXUnexpectedResponse):
        async for _ in client.get_shipping_document("o", "s"):
            pass


async def test_shipping_document_404_is_not_found(client: StockXClient, fake: FakeStockX) -> None:
    fake.default = json_response(404, {"message": "no document"})
    with pytest.raises(StockXNotFound, match="no document"):
        async for _ in client.get_shipping_document("o", "s"):
            pass
