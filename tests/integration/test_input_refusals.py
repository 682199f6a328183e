"""Bad input against the served system (real Postgres, NATS, simulator, `soleflip serve`): every
refusal is a 4xx problem+json naming the field, never a 500; a huge quantity cannot make orders
allocate in proportion to it, whether it comes over REST or straight onto the INGEST stream
(issue 10, items 1 and 5)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import nats
import psutil  # type: ignore[import-untyped]
import pytest

from soleflip.common.contracts import encode_event, new_event
from tests.support.stack import Stack, served_stack

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def stack(database_url: str, nats_url: str) -> Iterator[Stack]:
    with served_stack(database_url, nats_url) as served:
        yield served


def client(stack: Stack, service: str) -> httpx.Client:
    return httpx.Client(
        base_url=stack.urls[service],
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=30,
    )


def assert_problem(answer: httpx.Response, status: int, field: str | None = None) -> Any:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    if field is not None:
        assert field in [e["field"] for e in problem.get("errors", [])], problem
    return problem


NUL_REQUESTS = [
    ("catalog", "GET", "/api/v1/products?brand=a%00", None, "brand"),
    ("catalog", "GET", "/api/v1/products?q=%00", None, "q"),
    ("catalog", "GET", "/api/v1/products/a%00b", None, "product_id"),
    ("catalog", "GET", "/api/v1/products/by-sku/a%00", None, "sku"),
    ("catalog", "GET", "/api/v1/variants/by-gtin/0%00", None, "gtin"),
    ("catalog", "POST", "/api/v1/products/enrich", {"skus": ["a\u0000b"]}, "$.skus[0]"),
    ("pricing", "GET", "/api/v1/recommendations?variant_id=0%00", None, "variant_id"),
    ("pricing", "GET", "/api/v1/market/v%00", None, "variant_id"),
    ("pricing", "POST", "/api/v1/rules", {"name": "x\u0000", "strategy": "fixed"}, "$.name"),
    ("orders", "GET", "/api/v1/orders/a%00", None, "order_number"),
    ("orders", "GET", "/api/v1/orders?status=%00", None, "status"),
    ("orders", "GET", "/api/v1/listings/l%00", None, "listing_id"),
]


@pytest.mark.parametrize(
    ("service", "method", "path", "body", "field"),
    NUL_REQUESTS,
    ids=[f"{r[0]} {r[1]} {r[2]}" for r in NUL_REQUESTS],
)
def test_nul_in_a_parameter_or_body_string_is_422_naming_it(
    stack: Stack, service: str, method: str, path: str, body: Any, field: str
) -> None:
    with client(stack, service) as http:
        assert_problem(http.request(method, path, json=body), 422, field)


UNDECODABLE = {
    "not utf-8": b'{"skus": ["\xff"]}',
    "nested too deeply": b'{"skus": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
}


@pytest.mark.parametrize("service", ["catalog", "orders", "pricing"])
@pytest.mark.parametrize("body", UNDECODABLE.values(), ids=UNDECODABLE.keys())
def test_an_undecodable_body_is_400_on_every_service(
    stack: Stack, service: str, body: bytes
) -> None:
    path = {
        "catalog": "/api/v1/products/enrich",
        "orders": "/api/v1/stock",
        "pricing": "/api/v1/quote",
    }[service]
    with client(stack, service) as http:
        answer = http.post(path, content=body, headers={"content-type": "application/json"})
    assert_problem(answer, 400)


def purchase(**overrides: Any) -> dict[str, Any]:
    data = {
        "sku": "DD1391-100",
        "size": "10",
        "size_type": "us m",
        "quantity": 1,
        "unit_cost": {"amount": "89.90", "currency": "EUR"},
        "purchased_at": "2026-11-20T10:00:00Z",
        "supplier": "Nike SNKRS",
        "external_id": f"po-{secrets.token_hex(6)}",
    }
    return {**data, **overrides}


OUT_OF_BOUNDS = [
    ("orders", "/api/v1/stock", purchase(quantity=2**31), "quantity"),
    ("orders", "/api/v1/stock", purchase(quantity=10**400), "quantity"),
    (
        "orders",
        "/api/v1/stock",
        purchase(unit_cost={"amount": "1e999999", "currency": "EUR"}),
        "unit_cost.amount",
    ),
    (
        "orders",
        "/api/v1/listings",
        {"stock_item_id": 2**63, "amount": {"amount": "100", "currency": "EUR"}},
        "stock_item_id",
    ),
    (
        "orders",
        "/api/v1/listings",
        {"stock_item_id": 1, "amount": {"amount": "NaN", "currency": "EUR"}},
        "amount.amount",
    ),
    (
        "pricing",
        "/api/v1/quote",
        {"variant_id": "v", "cost": {"amount": "1e999999", "currency": "EUR"}},
        "cost.amount",
    ),
]


@pytest.mark.parametrize(
    ("service", "path", "body", "field"),
    OUT_OF_BOUNDS,
    ids=[f"{r[0]} {r[1]} {r[3]}" for r in OUT_OF_BOUNDS],
)
def test_a_number_out_of_its_domain_is_422_naming_it(
    stack: Stack, service: str, path: str, body: Any, field: str
) -> None:
    raw = json.dumps(body).encode()  # json, not httpx: 10**400 stays an integer literal
    with client(stack, service) as http:
        answer = http.post(path, content=raw, headers={"content-type": "application/json"})
    assert_problem(answer, 422, field)


def test_a_thousand_units_is_the_most_one_purchase_holds(stack: Stack) -> None:
    with client(stack, "orders") as http:
        created = http.post("/api/v1/stock", json=purchase(quantity=1000))
        assert created.status_code == 201, created.text
        assert len(created.json()) == 1000
        assert_problem(http.post("/api/v1/stock", json=purchase(quantity=1001)), 422, "quantity")


def _stock_external_ids(http: httpx.Client) -> set[str]:
    found: set[str] = set()
    cursor = ""
    while True:
        page = http.get(f"/api/v1/stock?limit=500{cursor}").json()
        found.update(item["external_id"] for item in page["items"])
        if not page["next_cursor"]:
            return found
        cursor = f"&cursor={page['next_cursor']}"


def _rss_mb(stack: Stack, service: str) -> float:
    port = stack.urls[service].rpartition(":")[2]
    for child in psutil.Process().children(recursive=True):
        if "serve" in child.cmdline() and service in child.cmdline() and port in child.cmdline():
            return float(child.memory_info().rss) / 2**20
    raise LookupError(f"no served {service} process on port {port}")


async def _publish_purchase(stack: Stack, nats_url: str, data: dict[str, Any]) -> None:
    nc = await nats.connect(nats_url)
    try:
        event = new_event("inventory.item.purchased", data, source="test/raw")
        subject = stack.names.subject("ingest.inventory.item.purchased")
        headers = {"Nats-Msg-Id": event.id}
        await nc.jetstream().publish(subject, encode_event(event), headers=headers)
    finally:
        await nc.close()


def test_a_huge_quantity_on_the_stream_is_dead_lettered_without_growing_orders(
    stack: Stack, nats_url: str
) -> None:
    """The issue's repro: 2^31 units past ingest (straight onto INGEST) grew orders past 6 GB."""
    before = _rss_mb(stack, "orders")
    asyncio.run(_publish_purchase(stack, nats_url, purchase(quantity=2**31)))
    marker = purchase(quantity=1)
    asyncio.run(_publish_purchase(stack, nats_url, marker))
    deadline = time.monotonic() + 30
    with client(stack, "orders") as http:
        while True:  # a valid purchase behind it is applied: the consumer went on
            if marker["external_id"] in _stock_external_ids(http):
                break
            assert time.monotonic() < deadline, "the purchase after the huge one was not applied"
            time.sleep(0.2)
        assert http.get("/health/live").status_code == 200
    assert _rss_mb(stack, "orders") - before < 100


PRICING_BOUNDS = [
    ("POST", "/api/v1/rules", {"priority": 2**31}, "priority"),
    ("POST", "/api/v1/rules", {"cooldown_s": 10**18}, "cooldown_s"),
    ("POST", "/api/v1/rules", {"strategy": "beat_lowest_ask", "beat_pct": "NaN"}, "beat_pct"),
    ("POST", "/api/v1/rules", {"strategy": "fixed", "fixed_price": "1e999999"}, "fixed_price"),
    ("POST", "/api/v1/rules", {"min_margin_pct": "1e999999"}, "min_margin_pct"),
    ("PUT", "/api/v1/fees", {"shipping": {"EUR": "1e999999"}}, "shipping.EUR"),
    ("PUT", "/api/v1/fees", {"processing_rate": "NaN"}, "processing_rate"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    PRICING_BOUNDS,
    ids=[f"{r[0]} {r[1]} {r[3]}" for r in PRICING_BOUNDS],
)
def test_pricing_configuration_out_of_bounds_is_422_naming_it(
    stack: Stack, method: str, path: str, body: Any, field: str
) -> None:
    with client(stack, "pricing") as http:
        assert_problem(http.request(method, path, json=body), 422, field)
