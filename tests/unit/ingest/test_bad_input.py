"""Hostile webhooks are refused with 4xx problem+json before anything is published: numbers out of
their domain, NUL at any depth, invalid UTF-8, deep nesting; and a presented signature must verify
even when a valid n8n bearer token comes with it (issue 10, items 1, 5 and 7)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from soleflip.ingest.domain import Event, sign
from soleflip.ingest.http import SourcePolicy, WebhookEndpoint
from tests.unit.ingest.test_http import call

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
TOKEN = "n8n-" + secrets.token_hex(16)


class RecordingSink:
    """Records what would be published."""

    def __init__(self) -> None:
        self.seen: list[Event] = []

    async def publish(self, events: Sequence[Event], trace: Mapping[str, str]) -> list[bool]:
        self.seen.extend(events)
        return [False] * len(events)


def n8n_endpoint(sink: RecordingSink) -> WebhookEndpoint:
    policy = SourcePolicy("n8n", secrets=(SECRET,), tokens=(TOKEN,), rate_per_s=1e6)
    return WebhookEndpoint({"n8n": policy}, max_body_bytes=1 << 20, sink=sink)


async def post(app: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    status, answer_headers, answer = await call(app, body, headers, path="/webhooks/n8n")
    if status >= 400:
        assert answer_headers["content-type"] == "application/problem+json"
    return status, answer


def signed(body: bytes, *, ts: int | None = None) -> dict[str, str]:
    msg_id, stamp = f"m{secrets.token_hex(4)}", ts if ts is not None else int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(SECRET, msg_id, stamp, body),
    }


def purchase(**overrides: Any) -> dict[str, Any]:
    data = {
        "sku": "DD1391-100",
        "size": "10.5",
        "size_type": "us m",
        "quantity": 2,
        "unit_cost": {"amount": "89.90", "currency": "EUR"},
        "purchased_at": "2026-11-20T10:00:00Z",
        "supplier": "Nike SNKRS",
        "external_id": f"po-{secrets.token_hex(4)}",
    }
    return {**data, **overrides}


def event(type_: str, data: Any) -> bytes:
    return json.dumps({"id": secrets.token_hex(8), "type": type_, "data": data}).encode()


PURCHASE = "inventory.item.purchased"
ORDER = "stockx.order.updated"
# (body, status, field the problem must name)
BAD_NUMBERS = {
    "quantity 2^31": (event(PURCHASE, purchase(quantity=2**31)), "$.data.quantity"),
    "quantity 2^63": (event(PURCHASE, purchase(quantity=2**63)), "$.data.quantity"),
    "quantity 10^400": (
        event(PURCHASE, purchase(quantity=10**400)),
        "$.data.quantity",
    ),
    "quantity 1001": (event(PURCHASE, purchase(quantity=1001)), "$.data.quantity"),
    "cost NaN": (
        event(PURCHASE, purchase(unit_cost={"amount": "NaN", "currency": "EUR"})),
        "$.data.unit_cost.amount",
    ),
    "cost 1e999999": (
        event(PURCHASE, purchase(unit_cost={"amount": "1e999999", "currency": "EUR"})),
        "$.data.unit_cost.amount",
    ),
    "cost negative": (
        event(PURCHASE, purchase(unit_cost={"amount": "-1", "currency": "EUR"})),
        "$.data.unit_cost.amount",
    ),
    "cost 3 decimals": (
        event(PURCHASE, purchase(unit_cost={"amount": "1.005", "currency": "EUR"})),
        "$.data.unit_cost.amount",
    ),
    "order amount NaN": (
        event(ORDER, {"orderNumber": "1-1", "status": "CREATED", "amount": "NaN"}),
        "$.data.amount",
    ),
    "order payout 1e999999": (
        event(ORDER, {"orderNumber": "1-1", "status": "X", "payout": {"totalPayout": "1e999999"}}),
        "$.data.payout.totalPayout",
    ),
    "market ask Infinity": (
        event("stockx.market.updated", {"variantId": "v", "lowestAskAmount": "Infinity"}),
        "$.data.lowestAskAmount",
    ),
    "product retail NaN": (
        event(
            "stockx.product.updated",
            {"productId": "p", "productAttributes": {"retailPrice": "NaN"}},
        ),
        "$.data.productAttributes.retailPrice",
    ),
}


@pytest.mark.parametrize(("body", "field"), BAD_NUMBERS.values(), ids=BAD_NUMBERS.keys())
async def test_a_number_out_of_its_domain_is_422_naming_the_field(body: bytes, field: str) -> None:
    sink = RecordingSink()
    status, problem = await post(n8n_endpoint(sink), body, signed(body))
    assert status == 422
    assert [e["field"] for e in problem["errors"]] == [field]
    assert sink.seen == []


NUL = {
    "order number": event(ORDER, {"orderNumber": "a\u0000b", "status": "CREATED"}),
    "unread field, deep": event(ORDER, {"orderNumber": "1", "status": "X", "x": [{"y": "\u0000"}]}),
    "key": event(PURCHASE, {**purchase(), "note\u0000": 1}),
    "unknown type": event("n8n.custom", {"a": ["b\u0000"]}),
    "list item": b"["
    + event(PURCHASE, purchase())
    + b","
    + event(PURCHASE, purchase(sku="\u0000"))
    + b"]",
}


@pytest.mark.parametrize("body", NUL.values(), ids=NUL.keys())
async def test_nul_anywhere_in_the_body_is_refused(body: bytes) -> None:
    sink = RecordingSink()
    status, problem = await post(n8n_endpoint(sink), body, signed(body))
    assert status == 422
    assert "NUL" in problem["detail"]
    assert sink.seen == []


async def test_an_escaped_backslash_before_u0000_is_text_not_nul() -> None:
    sink = RecordingSink()
    body = event(PURCHASE, purchase(supplier="C:\\u0000"))
    assert b"\\\\u0000" in body
    status, _ = await post(n8n_endpoint(sink), body, signed(body))
    assert status == 202
    assert len(sink.seen) == 1


MALFORMED = {
    "deep nesting in data": event(PURCHASE, purchase()).replace(
        b'"sku"', b'"x": ' + b"[" * 5000 + b"]" * 5000 + b', "sku"'
    ),
    "deep nesting, product variants": event(
        "stockx.product.updated",
        {"productId": "p", "variants": [json.loads("[" * 500 + "]" * 500)]},
    )
    .replace(b"[[", b"[" * 3000 + b"[[", 1)
    .replace(b"]]", b"]]" + b"]" * 3000, 1),
    "deep nesting, envelope": b"[" * 100_000 + b"]" * 100_000,
    "invalid utf-8 in a read field": event(PURCHASE, purchase()).replace(b"Nike", b"N\xffke"),
    "invalid utf-8 in an unread field": event(
        ORDER, {"orderNumber": "1", "status": "X", "x": "?"}
    ).replace(b'"?"', b'"\xc3\x28"'),
    "overlong utf-8": event(ORDER, {"orderNumber": "1", "status": "X", "x": "?"}).replace(
        b'"?"', b'"\xc0\xaf"'
    ),
    "a lone surrogate": event(ORDER, {"orderNumber": "1", "status": "X", "x": "?"}).replace(
        b'"?"', b'"\\ud800"'
    ),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_bodies_are_4xx_never_500(body: bytes) -> None:
    sink = RecordingSink()
    status, _ = await post(n8n_endpoint(sink), body, signed(body))
    assert 400 <= status < 500
    assert sink.seen == []


def with_token(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "authorization": f"Bearer {TOKEN}"}


async def test_a_wrong_signature_with_a_valid_token_is_401() -> None:
    sink = RecordingSink()
    body = event(PURCHASE, purchase())
    headers = with_token(signed(body))
    headers["webhook-signature"] = "v1," + base64.b64encode(secrets.token_bytes(32)).decode()
    status, _ = await post(n8n_endpoint(sink), body, headers)
    assert status == 401
    assert sink.seen == []


async def test_a_stale_signature_with_a_valid_token_is_401() -> None:
    sink = RecordingSink()
    body = event(PURCHASE, purchase())
    status, problem = await post(
        n8n_endpoint(sink), body, with_token(signed(body, ts=int(time.time()) - 86_400))
    )
    assert status == 401
    assert "stale" in problem["detail"]
    assert sink.seen == []


async def test_a_signature_without_a_timestamp_with_a_valid_token_is_401() -> None:
    sink = RecordingSink()
    body = event(PURCHASE, purchase())
    headers = with_token(signed(body))
    del headers["webhook-timestamp"]
    status, _ = await post(n8n_endpoint(sink), body, headers)
    assert status == 401


async def test_a_valid_token_alone_or_with_a_valid_signature_is_accepted() -> None:
    sink = RecordingSink()
    body = event(PURCHASE, purchase())
    alone = {"content-type": "application/json", "authorization": f"Bearer {TOKEN}"}
    assert (await post(n8n_endpoint(sink), body, alone))[0] == 202
    assert (await post(n8n_endpoint(sink), body, with_token(signed(body))))[0] == 202
    assert len(sink.seen) == 2


def binary(body: bytes, **ce: str) -> dict[str, str]:
    """Signed CloudEvents binary-mode headers: the attributes travel as `ce-*`, the body is data."""
    attributes = {"specversion": "1.0", "id": secrets.token_hex(6), "type": PURCHASE, **ce}
    return signed(body) | {f"ce-{k}": v for k, v in attributes.items()}


async def test_binary_mode_deep_nesting_is_400() -> None:
    sink = RecordingSink()
    body = b"[" * 100_000 + b"]" * 100_000
    status, _ = await post(n8n_endpoint(sink), body, binary(body))
    assert status == 400
    assert sink.seen == []


async def test_binary_mode_nul_in_an_attribute_or_the_data_is_422() -> None:
    sink = RecordingSink()
    data = json.dumps(purchase()).encode()
    status, _ = await post(n8n_endpoint(sink), data, binary(data, subject="a%00b"))
    assert status == 422
    nul = json.dumps(purchase(sku="a\u0000b")).encode()
    status, _ = await post(n8n_endpoint(sink), nul, binary(nul))
    assert status == 422
    assert sink.seen == []
    status, _ = await post(n8n_endpoint(sink), data, binary(data))
    assert status == 202
