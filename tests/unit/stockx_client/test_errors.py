"""Error bodies in every shape StockX and its gateways produce become typed errors."""

from __future__ import annotations

import httpx
import pytest

from soleflip.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from soleflip.common.stockx import (
    StockXAuthError,
    StockXBadRequest,
    StockXBudgetTimeout,
    StockXCircuitOpen,
    StockXClient,
    StockXConflict,
    StockXError,
    StockXForbidden,
    StockXNotFound,
    StockXRateLimited,
    StockXServerError,
    StockXTransportError,
    StockXUnexpectedResponse,
    error_message,
    is_item_failure,
)
from tests.unit.stockx_client.conftest import FakeStockX, json_response

HTML = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>x</body></html>"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"statusCode": 404, "message": "Resource not found"}', "Resource not found"),
        (b'{"errorMessage": "can not perform this action"}', "can not perform this action"),
        (b'{"error": "invalid_grant", "error_description": "Unknown token"}', "Unknown token"),
        (b'{"error": {"message": "nested"}}', "nested"),
        (b'{"error": "plain"}', "plain"),
        (b'{"detail": "from detail"}', "from detail"),
        (b'[{"message": "a"}, {"message": "b"}]', "a; b"),
        (b"Service Unavailable", "Service Unavailable"),
        (b"", "empty body"),
        (HTML, "HTML page instead of JSON: 502 Bad Gateway"),
    ],
)
def test_error_message_is_read_tolerantly(body: bytes, expected: str) -> None:
    assert error_message(body) == expected


@pytest.mark.parametrize(
    ("status", "cls", "base"),
    [
        (400, StockXBadRequest, InvalidInput),
        (403, StockXForbidden, Forbidden),
        (404, StockXNotFound, NotFound),
        (409, StockXConflict, Conflict),
        (422, StockXBadRequest, InvalidInput),
    ],
)
async def test_client_errors_map_to_typed_errors_without_retry(
    client: StockXClient, fake: FakeStockX, status: int, cls: type, base: type
) -> None:
    fake.default = json_response(status, {"statusCode": status, "message": "nope"})
    with pytest.raises(cls) as caught:
        await client.get_product("p1")
    assert isinstance(caught.value, base)
    assert isinstance(caught.value, StockXError)
    assert caught.value.status_code == status
    assert "nope" in str(caught.value)
    assert len(fake.api_calls) == 1


def test_typed_errors_keep_the_project_hierarchy_and_http_status() -> None:
    assert issubclass(StockXServerError, Unavailable)
    assert StockXNotFound("x").status == 404
    assert issubclass(StockXUnexpectedResponse, Unavailable)


async def test_html_body_on_200_is_an_error_never_data(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.default = httpx.Response(200, content=HTML, headers={"content-type": "text/html"})
    with pytest.raises(StockXUnexpectedResponse, match="HTML"):
        await client.get_product("p1")


async def test_plain_text_body_on_200_is_an_error(client: StockXClient, fake: FakeStockX) -> None:
    fake.default = httpx.Response(200, content=b"OK", headers={"content-type": "text/plain"})
    with pytest.raises(StockXUnexpectedResponse):
        await client.get_order("o1")


async def test_json_of_the_wrong_shape_is_an_error(client: StockXClient, fake: FakeStockX) -> None:
    fake.default = json_response(200, {"products": "not a list"})
    with pytest.raises(StockXUnexpectedResponse):
        await client.search_catalog("x")


async def test_html_404_page_is_not_found_with_the_page_title(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.default = httpx.Response(404, content=HTML.replace(b"502 Bad Gateway", b"Not Here"))
    with pytest.raises(StockXNotFound, match="Not Here"):
        await client.get_listing("l1")


async def test_html_503_is_a_server_error_after_retries(
    client: StockXClient, fake: FakeStockX
) -> None:
    fake.default = httpx.Response(503, content=HTML, headers={"content-type": "text/html"})
    with pytest.raises(StockXServerError, match="502 Bad Gateway") as caught:
        await client.get_listing("l1")
    assert isinstance(caught.value, Unavailable)
    assert not isinstance(caught.value, RateLimited)
    assert not isinstance(caught.value, Unauthorized)


@pytest.mark.parametrize(
    ("error", "about_the_item"),
    [
        (StockXNotFound("gone"), True),
        (StockXServerError("500 for this id"), True),
        (StockXUnexpectedResponse("undecodable"), True),
        (StockXCircuitOpen("outage"), False),
        (StockXTransportError("refused"), False),
        (StockXRateLimited("429"), False),
        (StockXBudgetTimeout("no slot"), False),
        (StockXAuthError("re-authorize"), False),
    ],
)
def test_item_failures_are_told_apart_from_stockx_being_unavailable(
    error: StockXError, about_the_item: bool
) -> None:
    assert is_item_failure(error) is about_the_item
