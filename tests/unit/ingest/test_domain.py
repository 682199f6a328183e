"""Ingest domain rules: Standard Webhooks verification, event ids, subjects and rate limiting."""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import UTC, datetime

import msgspec
import pytest
from standardwebhooks import Webhook

from soleflip.common.contracts import decode_event
from soleflip.common.contracts.ingest import StockxOrderUpdated, ingest_event_decoder
from soleflip.common.errors import BadRequest, InvalidInput, PayloadTooLarge, Unauthorized
from soleflip.ingest.domain import (
    MAX_EVENTS_PER_REQUEST,
    TokenBucket,
    Verifier,
    check_bearer,
    check_webhook_id,
    parse_events,
    retry_after,
    secret_key,
    sign,
    subject_for,
)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


ORDER = {
    "type": "stockx.order.updated",
    "source": "relay",
    "data": {"orderNumber": "1-2", "status": "CREATED"},
}


def test_signature_matches_the_reference_implementation_both_ways() -> None:
    secret, body, now = new_secret(), b'{"type":"x"}', int(time.time())
    reference = Webhook(secret).sign("msg_1", datetime.fromtimestamp(now, UTC), body.decode())
    assert sign(secret, "msg_1", now, body) == reference
    Verifier([secret]).verify("msg_1", str(now), reference, body, now)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now)}
    Webhook(secret).verify(body, {**headers, "webhook-signature": sign(secret, "msg_1", now, body)})


def test_any_configured_secret_and_any_v1_entry_verifies_for_rotation() -> None:
    old, new, other = new_secret(), new_secret(), new_secret()
    now = int(time.time())
    header = f"v1a,xyz {sign(other, 'm', now, b'{}')} {sign(new, 'm', now, b'{}')}"
    Verifier([old, new]).verify("m", str(now), header, b"{}", now)


def test_signature_over_reserialised_json_is_rejected() -> None:
    secret, now = new_secret(), int(time.time())
    sent = b'{"type": "x",  "data": {"a": 1}}'
    resigned = json.dumps(json.loads(sent), separators=(",", ":")).encode()
    with pytest.raises(Unauthorized, match="matches the body under no configured secret"):
        Verifier([secret]).verify("m", str(now), sign(secret, "m", now, resigned), sent, now)


@pytest.mark.parametrize(
    ("offset", "message"), [(-301, "stale"), (301, "in the future")], ids=["stale", "future"]
)
def test_timestamps_outside_five_minutes_are_rejected(offset: int, message: str) -> None:
    secret, now = new_secret(), int(time.time())
    ts = now + offset
    with pytest.raises(Unauthorized, match=message):
        Verifier([secret]).verify("m", str(ts), sign(secret, "m", ts, b"{}"), b"{}", now)


def test_timestamps_inside_five_minutes_are_accepted() -> None:
    secret, now = new_secret(), int(time.time())
    for ts in (now - 299, now + 299):
        Verifier([secret]).verify("m", str(ts), sign(secret, "m", ts, b"{}"), b"{}", now)


@pytest.mark.parametrize(
    "header", ["", "v1", "v1,", "v1,!!!", "v2,abc", "v1," + base64.b64encode(b"short").decode()]
)
def test_malformed_signature_headers_are_unauthorized_not_errors(header: str) -> None:
    now = int(time.time())
    with pytest.raises(Unauthorized):
        Verifier([new_secret()]).verify("m", str(now), header, b"{}", now)


@pytest.mark.parametrize(
    "timestamp", ["", "abc", "1e9", "-5", "12.5", "9" * 40, "\u00b2", "\uff11"]
)
def test_malformed_timestamps_are_unauthorized(timestamp: str) -> None:
    with pytest.raises(Unauthorized, match="webhook-timestamp"):
        Verifier([new_secret()]).verify("m", timestamp, "v1,x", b"{}", time.time())


def test_a_source_without_secrets_fails_closed() -> None:
    now = int(time.time())
    with pytest.raises(Unauthorized, match="no webhook secret"):
        Verifier([]).verify("m", str(now), sign(new_secret(), "m", now, b"{}"), b"{}", now)


def test_secrets_need_base64_and_may_be_unpadded() -> None:
    assert secret_key("whsec_YWJj") == b"abc"
    assert secret_key("whsec_YWI") == b"ab"
    with pytest.raises(ValueError, match="base64"):
        secret_key("whsec_***")


def test_bearer_token_must_be_one_of_the_configured() -> None:
    check_bearer("Bearer tok-2", [b"tok-1", b"tok-2"])
    check_bearer("bearer tok-1", [b"tok-1"])
    for header in ("", "Basic tok-1", "Bearer ", "Bearer tok-3", "tok-1"):
        with pytest.raises(Unauthorized):
            check_bearer(header, [b"tok-1"])


@pytest.mark.parametrize("webhook_id", ["", "a b", "x" * 257, "ü", "a\r\nb"])
def test_webhook_ids_that_could_not_be_a_nats_header_are_rejected(webhook_id: str) -> None:
    with pytest.raises(BadRequest, match="webhook-id"):
        check_webhook_id(webhook_id)


def test_a_single_event_keeps_its_own_id_and_bytes() -> None:
    body = json.dumps({**ORDER, "specversion": "1.0", "id": "evt-1", "extension": 1}).encode()
    events, is_list = parse_events(body, "wh-1", "stockx")
    assert not is_list
    assert [(e.id, e.subject, e.payload) for e in events] == [
        ("evt-1", "ingest.stockx.order.updated", body)
    ]


def test_a_single_event_without_id_takes_the_webhook_id_and_stays_decodable() -> None:
    body = json.dumps({"type": "stockx.order.updated", "data": ORDER["data"]}).encode()
    [event], _ = parse_events(body, "wh-1", "stockx")
    assert event.id == "wh-1"
    decoded = ingest_event_decoder.decode(event.payload)
    assert isinstance(decoded, StockxOrderUpdated)
    assert (decoded.id, decoded.source) == ("wh-1", "/webhooks/stockx")
    assert decoded.data.orderNumber == "1-2"


def test_list_items_without_id_get_webhook_id_and_index() -> None:
    body = json.dumps([ORDER, {**ORDER, "id": "own"}, ORDER]).encode()
    events, is_list = parse_events(body, "wh-9", "stockx")
    assert is_list
    assert [e.id for e in events] == ["wh-9:0", "own", "wh-9:2"]
    assert [decode_event(e.payload).id for e in events] == ["wh-9:0", "own", "wh-9:2"]


def test_an_event_without_any_id_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match=r"\$\.id is missing"):
        parse_events(json.dumps(ORDER).encode(), None, "n8n")


def test_unknown_types_go_to_the_unrecognized_subject_of_the_source() -> None:
    body = json.dumps({"id": "1", "source": "x", "type": "com.example.thing", "data": 1}).encode()
    [event], _ = parse_events(body, None, "n8n")
    assert event.subject == "ingest.unrecognized.n8n"
    assert (
        subject_for("catalog.enrichment.requested", "n8n") == "ingest.catalog.enrichment.requested"
    )


@pytest.mark.parametrize(
    ("type_", "data", "field"),
    [
        ("stockx.order.updated", {"status": "X"}, "orderNumber"),
        ("stockx.listing.updated", {"listingId": "l"}, "status"),
        ("stockx.product.updated", {}, "productId"),
        ("stockx.market.updated", [{"variantId": "v"}, {}], "variantId"),
        ("stockx.market.updated", [], "$.data"),
        ("catalog.enrichment.requested", {"skus": []}, "$.data.skus"),
        ("inventory.item.purchased", {"sku": "s"}, "size"),
    ],
)
def test_known_types_with_bad_data_name_the_field(type_: str, data: object, field: str) -> None:
    body = json.dumps({"id": "1", "type": type_, "data": data}).encode()
    with pytest.raises(InvalidInput, match=field.replace("$", r"\$")):
        parse_events(body, None, "stockx")


def purchase(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "sku": "DD1391-100",
        "size": "10.5",
        "size_type": "us m",
        "quantity": 2,
        "unit_cost": {"amount": "89.90", "currency": "EUR"},
        "purchased_at": "2026-11-20T10:00:00Z",
        "supplier": "Nike SNKRS",
        "external_id": "po-1",
    }
    return {**data, **overrides}


def test_a_valid_purchase_is_accepted() -> None:
    body = json.dumps({"id": "1", "type": "inventory.item.purchased", "data": purchase()})
    [event], _ = parse_events(body.encode(), None, "n8n")
    assert event.subject == "ingest.inventory.item.purchased"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": 0}, "$.data.quantity"),
        ({"unit_cost": {"amount": "abc", "currency": "EUR"}}, "$.data.unit_cost.amount"),
        ({"unit_cost": {"amount": "1", "currency": "euro"}}, "$.data.unit_cost.currency"),
        ({"purchased_at": "yesterday"}, "$.data.purchased_at"),
    ],
)
def test_purchase_fields_are_checked(overrides: dict[str, object], field: str) -> None:
    body = json.dumps(
        {"id": "1", "type": "inventory.item.purchased", "data": purchase(**overrides)}
    )
    with pytest.raises(InvalidInput, match=field.replace("$", r"\$").replace(".", r"\.")):
        parse_events(body.encode(), None, "n8n")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"42", "not a CloudEvent"),
        (b"[]", "empty list"),
        (b'{"data": 1}', "`type`"),
        (b'[{"type": "a", "id": "1"}, 7]', r"\$\[1\]"),
        (b'{"type": "a b"}', r"\$\.type"),
        (b'{"type": "a", "specversion": "0.3"}', "specversion"),
        (b'{"type": "a", "id": null}', r"\$\.id"),
    ],
)
def test_bodies_that_are_not_events_are_bad_requests(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_events(body, "wh", "stockx")


def test_too_many_events_in_one_request_are_refused() -> None:
    body = msgspec.json.encode([{"type": "a"}] * (MAX_EVENTS_PER_REQUEST + 1))
    with pytest.raises(PayloadTooLarge):
        parse_events(body, "wh", "stockx")


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=10.0, burst=2.0)
    assert bucket.take(100.0) == 0.0
    assert bucket.take(100.0) == 0.0
    assert bucket.take(100.0) == pytest.approx(0.1)
    assert bucket.take(100.11) == 0.0
    assert retry_after(0.1) == "1"
    assert retry_after(2.5) == "3"


@pytest.mark.parametrize(
    "body",
    [
        b'\n  {"type": "x.y"}',
        b'{"type":"x.y","data":{"k":[1,2]}}',
        b'{ "data": {"id": "inner"}, "type": "x.y" }',
    ],
)
def test_filled_in_ids_and_sources_keep_the_rest_of_the_bytes(body: bytes) -> None:
    [event], _ = parse_events(body, "wh-3", "n8n")
    decoded = decode_event(event.payload)
    assert (decoded.id, decoded.source, decoded.type) == ("wh-3", "/webhooks/n8n", "x.y")
    assert event.payload.endswith(body.lstrip()[1:])
