"""Every error the HTTP edge produces is RFC 9457 problem+json with a stable shape."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from soleflip.common.errors import InvalidInput, SoleflipError
from soleflip.common.http import PROBLEM_JSON, problem_type

BASE_MEMBERS = {"type", "title", "status", "detail"}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body.keys() >= BASE_MEMBERS
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def test_problem_type_is_a_stable_urn_per_error_class() -> None:
    assert problem_type(InvalidInput) == "urn:soleflip:problem:invalid-input"
    assert problem_type(SoleflipError) == "urn:soleflip:problem:soleflip-error"


def test_soleflip_error_keeps_title_detail_errors_and_type(client: TestClient[Litestar]) -> None:
    body = assert_problem(client.get("/fail/invalid"), 422)
    assert body["type"] == "urn:soleflip:problem:invalid-input"
    assert body["title"] == "Invalid input"
    assert body["detail"] == "sku is unknown"
    assert body["errors"] == [{"field": "sku", "message": "unknown"}]
    assert body["instance"] == "/fail/invalid"


@pytest.mark.parametrize(
    ("path", "status", "retry_after"),
    [("/fail/limited", 429, "7"), ("/fail/unavailable", 503, "2")],
)
def test_transient_errors_carry_retry_after(
    client: TestClient[Litestar], path: str, status: int, retry_after: str
) -> None:
    response = client.get(path)
    assert_problem(response, status)
    assert response.headers["retry-after"] == retry_after


def test_unknown_route_is_a_404_problem(client: TestClient[Litestar]) -> None:
    body = assert_problem(client.get("/no/such/route"), 404)
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"


def test_wrong_method_is_a_405_problem_with_allow(client: TestClient[Litestar]) -> None:
    response = client.delete("/health/live")
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


def test_malformed_json_is_a_400_problem(client: TestClient[Litestar], tokens: Any) -> None:
    response = client.post(
        "/api/v1/items",
        content=b'{"sku": oops}',
        headers={"authorization": f"Bearer {tokens.write}", "content-type": "application/json"},
    )
    body = assert_problem(response, 400)
    assert "malformed" in body["detail"].lower()
    assert "errors" not in body


def test_schema_violation_is_a_422_problem_naming_the_field(
    client: TestClient[Litestar], tokens: Any
) -> None:
    response = client.post(
        "/api/v1/items",
        json={"sku": "DD1391-100", "quantity": "many"},
        headers={"authorization": f"Bearer {tokens.write}"},
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "quantity"
    assert body["errors"][0]["source"] == "body"


def test_missing_required_field_is_named(client: TestClient[Litestar], tokens: Any) -> None:
    response = client.post(
        "/api/v1/items", json={"sku": "X"}, headers={"authorization": f"Bearer {tokens.write}"}
    )
    body = assert_problem(response, 422)
    assert "quantity" in body["errors"][0]["message"]


def test_unexpected_exception_is_a_500_without_internals(client: TestClient[Litestar]) -> None:
    response = client.get("/fail/bug")
    body = assert_problem(response, 500)
    assert "exploded" not in response.text
    assert "/srv/secret/path" not in response.text
    assert "Traceback" not in response.text
    assert body["type"] == "about:blank"


def test_unexpected_exception_is_logged_with_stack_trace(
    client: TestClient[Litestar], log_lines: Any
) -> None:
    log_lines()
    response = client.get("/fail/bug")
    errors = [line for line in log_lines() if line["event"] == "unhandled exception"]
    assert len(errors) == 1
    assert "Traceback" in errors[0]["exception"]
    assert "RuntimeError" in errors[0]["exception"]
    assert errors[0]["request_id"] == response.headers["x-request-id"]


def test_expected_error_is_logged_without_stack_trace(
    client: TestClient[Litestar], log_lines: Any
) -> None:
    log_lines()
    client.get("/fail/invalid")
    lines = log_lines()
    assert not any("exception" in line for line in lines)
    access = [line for line in lines if line["event"] == "http request"]
    assert access[0]["error"] == "InvalidInput"
    assert access[0]["status"] == 422
