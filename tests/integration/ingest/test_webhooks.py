"""`POST /webhooks/{source}` end to end: every answer of the contract, against real JetStream."""

from __future__ import annotations

import json
import time
from typing import Any

from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext

from soleflip.common.bus import Names
from soleflip.common.contracts import decode_event
from soleflip.ingest.domain import sign
from tests.integration.ingest.conftest import (
    CAP,
    N8N_TOKEN,
    Secrets,
    Sign,
    body_of,
    order_event,
    stream_messages,
)

Client = AsyncTestClient[Any]


def assert_problem(answer: Any, status: int, *fragments: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = answer.json()
    assert problem["status"] == status
    for fragment in fragments:
        assert fragment in problem["detail"], problem
    return problem


async def test_a_signed_event_is_stored_with_its_id_type_and_trace(
    client: Client, js: JetStreamContext, names: Names, signed: Sign
) -> None:
    event = order_event()
    body = body_of(event)
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    answer = await client.post(
        "/webhooks/stockx", content=body, headers=signed(body, traceparent=parent)
    )
    assert answer.status_code == 202
    assert answer.json() == {"id": event["id"], "duplicate": False}
    stored = await js.get_last_msg(
        names.stream("INGEST"), names.subject("ingest.stockx.order.updated")
    )
    assert stored.data == body  # the sender's bytes, untouched
    assert stored.headers is not None
    assert stored.headers["Nats-Msg-Id"] == event["id"]
    assert stored.headers["ce-type"] == "stockx.order.updated"
    # The caller's trace: under ingest's own span while spans are recorded, else as it came.
    assert stored.headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"


async def test_the_same_webhook_twice_is_stored_once_and_answered_200(
    client: Client, js: JetStreamContext, names: Names, signed: Sign
) -> None:
    body = body_of(order_event(id=None) | {"id": "same-event"})
    headers = signed(body, msg_id="wh-1")
    first = await client.post("/webhooks/stockx", content=body, headers=headers)
    second = await client.post(
        "/webhooks/stockx", content=body, headers=signed(body, msg_id="wh-1")
    )
    assert (first.status_code, first.json()) == (202, {"id": "same-event", "duplicate": False})
    assert (second.status_code, second.json()) == (200, {"id": "same-event", "duplicate": True})
    assert await stream_messages(js, names) == 1


async def test_a_single_event_without_id_takes_the_webhook_id(
    client: Client, js: JetStreamContext, names: Names, signed: Sign
) -> None:
    event = order_event()
    del event["id"]
    body = body_of(event)
    answer = await client.post(
        "/webhooks/stockx", content=body, headers=signed(body, msg_id="wh-7")
    )
    assert answer.json() == {"id": "wh-7", "duplicate": False}
    stored = await js.get_last_msg(
        names.stream("INGEST"), names.subject("ingest.stockx.order.updated")
    )
    assert decode_event(stored.data or b"").id == "wh-7"


async def test_a_list_is_published_event_by_event_and_repeats_are_per_event(
    client: Client, js: JetStreamContext, names: Names, signed: Sign
) -> None:
    items = [order_event(), {k: v for k, v in order_event().items() if k != "id"}, order_event()]
    body = body_of(items)
    answer = await client.post(
        "/webhooks/stockx", content=body, headers=signed(body, msg_id="batch-1")
    )
    assert answer.status_code == 202
    assert answer.json() == {
        "ids": [items[0]["id"], "batch-1:1", items[2]["id"]],
        "duplicates": [False, False, False],
    }
    again = await client.post(
        "/webhooks/stockx", content=body, headers=signed(body, msg_id="batch-1")
    )
    assert again.status_code == 200
    assert again.json()["duplicates"] == [True, True, True]
    assert await stream_messages(js, names) == 3


async def test_an_unknown_type_is_kept_on_the_unrecognized_subject_of_its_source(
    client: Client, js: JetStreamContext, names: Names, webhook_secrets: Secrets, signed: Sign
) -> None:
    body = body_of(order_event(type="com.example.thing.happened", data=[1, 2]))
    headers = signed(body, secret=webhook_secrets.n8n)
    answer = await client.post("/webhooks/n8n", content=body, headers=headers)
    assert answer.status_code == 202
    stored = await js.get_last_msg(names.stream("INGEST"), names.subject("ingest.unrecognized.n8n"))
    assert stored.data == body
    assert stored.headers is not None
    assert stored.headers["ce-type"] == "com.example.thing.happened"


async def test_every_accepted_type_reaches_its_own_subject(
    client: Client, js: JetStreamContext, names: Names, signed: Sign
) -> None:
    data = {
        "stockx.listing.updated": {"listingId": "l-1", "status": "ACTIVE"},
        "stockx.product.updated": {"productId": "p-1"},
        "stockx.market.updated": [{"variantId": "v-1"}, {"variantId": "v-2"}],
        "catalog.enrichment.requested": {"skus": ["DD1391-100"]},
    }
    for event_type, payload in data.items():
        body = body_of(order_event(type=event_type, data=payload))
        answer = await client.post("/webhooks/stockx", content=body, headers=signed(body))
        assert answer.status_code == 202, answer.text
        stored = await js.get_last_msg(
            names.stream("INGEST"), names.subject(f"ingest.{event_type}")
        )
        assert stored.data == body


async def test_rotated_secrets_old_new_and_both_signatures_verify(
    client: Client, webhook_secrets: Secrets, signed: Sign
) -> None:
    for secret in (webhook_secrets.stockx_old, webhook_secrets.stockx_new):
        body = body_of(order_event())
        answer = await client.post(
            "/webhooks/stockx", content=body, headers=signed(body, secret=secret)
        )
        assert answer.status_code == 202
    body = body_of(order_event())
    headers = signed(body, msg_id="rot-1")
    old = sign(webhook_secrets.stockx_old, "rot-1", headers["webhook-timestamp"], body)
    headers["webhook-signature"] = f"{old} {headers['webhook-signature']}"
    assert (await client.post("/webhooks/stockx", content=body, headers=headers)).status_code == 202


async def test_a_signature_over_reserialised_json_is_401(client: Client, signed: Sign) -> None:
    sent = b'{"type": "stockx.order.updated",   "id": "e1", "data": {"orderNumber": "1"}}'
    resigned = json.dumps(json.loads(sent), separators=(",", ":")).encode()
    headers = signed(resigned, msg_id="m1")
    answer = await client.post("/webhooks/stockx", content=sent, headers=headers)
    assert_problem(answer, 401, "webhook-signature")


async def test_a_secret_of_another_source_is_401(
    client: Client, webhook_secrets: Secrets, signed: Sign
) -> None:
    body = body_of(order_event())
    answer = await client.post(
        "/webhooks/stockx", content=body, headers=signed(body, secret=webhook_secrets.n8n)
    )
    assert_problem(answer, 401, "no configured secret")


async def test_stale_and_future_timestamps_are_401(client: Client, signed: Sign) -> None:
    body = body_of(order_event())
    now = int(time.time())
    stale = await client.post(
        "/webhooks/stockx", content=body, headers=signed(body, timestamp=now - 301)
    )
    future = await client.post(
        "/webhooks/stockx", content=body, headers=signed(body, timestamp=now + 301)
    )
    assert_problem(stale, 401, "stale")
    assert_problem(future, 401, "future")


async def test_missing_signature_headers_are_401_and_named(client: Client, signed: Sign) -> None:
    body = body_of(order_event())
    headers = signed(body)
    del headers["webhook-signature"], headers["webhook-timestamp"]
    answer = await client.post("/webhooks/stockx", content=body, headers=headers)
    assert_problem(answer, 401, "webhook-timestamp", "webhook-signature")


async def test_n8n_may_authenticate_with_its_bearer_token_alone(client: Client) -> None:
    body = body_of(order_event(type="inventory.item.purchased", data=purchase()))
    headers = {"content-type": "application/json", "authorization": f"Bearer {N8N_TOKEN}"}
    answer = await client.post("/webhooks/n8n", content=body, headers=headers)
    assert answer.status_code == 202, answer.text


async def test_a_wrong_n8n_token_is_401_even_with_a_valid_signature(
    client: Client, webhook_secrets: Secrets, signed: Sign
) -> None:
    body = body_of(order_event())
    headers = signed(body, secret=webhook_secrets.n8n, authorization="Bearer nope")
    answer = await client.post("/webhooks/n8n", content=body, headers=headers)
    assert_problem(answer, 401, "bearer token")


async def test_the_stockx_source_does_not_accept_n8n_tokens(client: Client) -> None:
    body = body_of(order_event())
    headers = {"content-type": "application/json", "authorization": f"Bearer {N8N_TOKEN}"}
    answer = await client.post("/webhooks/stockx", content=body, headers=headers)
    assert_problem(answer, 401, "webhook-signature")


async def test_an_unparsable_body_is_400(client: Client, signed: Sign) -> None:
    body = b'{"type": "stockx.order.updated", '
    assert_problem(
        await client.post("/webhooks/stockx", content=body, headers=signed(body)),
        400,
        "not valid JSON",
    )


async def test_a_body_that_is_not_an_event_is_400_naming_the_field(
    client: Client, signed: Sign
) -> None:
    body = body_of([order_event(), {"id": "x", "data": {}}])
    answer = await client.post("/webhooks/stockx", content=body, headers=signed(body))
    assert_problem(answer, 400, "$[1]", "type")


async def test_a_body_at_the_cap_is_accepted_and_one_byte_more_is_413(
    client: Client, signed: Sign
) -> None:
    event = order_event()
    event["data"]["pad"] = ""
    padding = CAP - len(body_of(event))
    event["data"]["pad"] = "x" * padding
    body = body_of(event)
    assert len(body) == CAP
    assert (
        await client.post("/webhooks/stockx", content=body, headers=signed(body))
    ).status_code == 202
    event["data"]["pad"] += "x"
    bigger = body_of(event)
    answer = await client.post("/webhooks/stockx", content=bigger, headers=signed(bigger))
    assert_problem(answer, 413, str(CAP))


async def test_a_non_json_content_type_is_415(client: Client, signed: Sign) -> None:
    body = body_of(order_event())
    answer = await client.post(
        "/webhooks/stockx", content=body, headers=signed(body, **{"content-type": "text/plain"})
    )
    assert_problem(answer, 415, "text/plain")
    cloudevents = signed(body, **{"content-type": "application/cloudevents+json; charset=utf-8"})
    assert (
        await client.post("/webhooks/stockx", content=body, headers=cloudevents)
    ).status_code == 202


def purchase(**overrides: Any) -> dict[str, Any]:
    data = {
        "sku": "DD1391-100",
        "size": "10.5",
        "size_type": "us m",
        "quantity": 1,
        "unit_cost": {"amount": "89.90", "currency": "EUR"},
        "purchased_at": "2026-11-20T10:00:00Z",
        "supplier": "Nike SNKRS",
        "external_id": "po-17",
    }
    return {**data, **overrides}


async def test_known_type_with_invalid_data_is_422_naming_the_field(
    client: Client, js: JetStreamContext, names: Names, signed: Sign
) -> None:
    body = body_of(order_event(type="inventory.item.purchased", data=purchase(quantity=0)))
    answer = await client.post("/webhooks/stockx", content=body, headers=signed(body))
    problem = assert_problem(answer, 422, "$.data.quantity")
    assert problem["errors"][0]["field"] == "$.data.quantity"
    missing = body_of(order_event(data={"status": "CREATED"}))
    answer = await client.post("/webhooks/stockx", content=missing, headers=signed(missing))
    assert_problem(answer, 422, "orderNumber")


async def test_unknown_source_is_404_and_get_is_405(client: Client) -> None:
    assert (await client.post("/webhooks/shopify", content=b"{}")).status_code == 404
    answer = await client.get("/webhooks/stockx")
    assert_problem(answer, 405, "POST")
    assert answer.headers["allow"] == "POST"


async def test_the_operation_is_documented_in_openapi(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    operation = document["paths"]["/webhooks/{source}"]["post"]
    assert set(operation["responses"]) >= {
        "200",
        "202",
        "400",
        "401",
        "413",
        "415",
        "422",
        "429",
        "503",
    }
    assert (
        "IngestEvent" in json.dumps(document["components"]["schemas"])
        or "StockxOrderUpdated" in document["components"]["schemas"]
    )


async def test_rejections_and_duplicates_are_counted_per_source(
    client: Client, signed: Sign
) -> None:
    body = body_of(order_event())
    headers = signed(body)
    await client.post("/webhooks/stockx", content=body, headers=headers)
    await client.post("/webhooks/stockx", content=body, headers=headers)
    await client.post(
        "/webhooks/stockx", content=body, headers={**headers, "webhook-signature": "v1,xx"}
    )
    metrics = (await client.get("/metrics")).text
    assert 'soleflip_ingest_events_total{result="duplicate",source="stockx"}' in metrics
    assert 'soleflip_ingest_rejected_total{reason="unauthorized",source="stockx"}' in metrics
    assert (
        'soleflip_ingest_request_seconds_bucket{le="0.005",source="stockx",status="202"}' in metrics
    )
