"""What every service's OpenAPI document tells a client (issue 15 item 4): every `/api` operation
asks for the bearer token (so a docs UI's "try it" sends one) and lists the problem+json answers
any route may give; the shipping label is a PDF, not JSON."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from litestar._openapi.plugin import OpenAPIPlugin

from soleflip.common.http._app import API_PROBLEMS
from soleflip.common.settings import Settings

SERVICES = ("catalog", "orders", "pricing")


def _document(service: str) -> dict[str, Any]:
    create_app = importlib.import_module(f"soleflip.{service}.app").create_app
    document: dict[str, Any] = (
        create_app(Settings(log_level="warning"))
        .plugins.get(OpenAPIPlugin)
        .provide_openapi_schema()
    )
    return document


@pytest.mark.parametrize("service", SERVICES)
def test_every_api_operation_asks_for_the_bearer_token_and_lists_problem_answers(
    service: str,
) -> None:
    document = _document(service)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        if path.startswith("/api")
        for method, operation in item.items()
    ]
    assert operations
    for path, method, operation in operations:
        assert operation["security"] == [{"bearerAuth": []}], f"{method} {path}"
        for status in API_PROBLEMS:
            answer = operation["responses"][str(status)]
            assert "application/problem+json" in answer["content"], f"{method} {path} {status}"


def test_the_shipping_label_is_documented_as_a_pdf() -> None:
    operation = _document("orders")["paths"]["/api/v1/orders/{order_number}/shipping-label"]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["application/pdf"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_polling_service_documents_the_same_polls_route(service: str) -> None:
    operation = _document(service)["paths"]["/api/v1/polls"]["get"]
    assert operation["tags"] == ["polls"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["type"] == "array"


def test_catalog_documents_the_list_of_enrichment_jobs() -> None:
    operation = _document("catalog")["paths"]["/api/v1/enrichment"]["get"]
    limit = next(p for p in operation["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 200)
