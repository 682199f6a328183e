"""Ingest speaks CloudEvents as the official SDK does: binary mode (`ce-*` headers, body = data)
is answered like structured mode, and whatever ingest stores passes the SDK's strict parsers,
even when a sender left out `specversion`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.bindings.http import to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as CoreCloudEvent
from cloudevents.v1.http import from_json
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext

from soleflip.common.bus import Names
from tests.integration.ingest.conftest import Sign, body_of, order_event

Client = AsyncTestClient[Any]
ORDER = {"orderNumber": "75437-1", "status": "CREATED", "extra": {"kept": True}}


async def stored(js: JetStreamContext, names: Names, subject: str) -> bytes:
    message = await js.get_last_msg(names.stream("INGEST"), names.subject(subject))
    return bytes(message.data)


def strictly_parsed(raw: bytes) -> CoreCloudEvent:
    from_json(raw)  # the v1 parser: every required attribute present
    return JSONFormat().read(CoreCloudEvent, raw)  # the core v1 event: attribute types


def binary_request(event_id: str, **attributes: Any) -> tuple[dict[str, str], bytes]:
    event = CoreCloudEvent(
        attributes={
            "id": event_id,
            "source": "relay",
            "type": "stockx.order.updated",
            "datacontenttype": "application/json",
            **attributes,
        },
        data=ORDER,
    )
    message = to_binary(event, JSONFormat())
    return message.headers, message.body


async def test_a_binary_mode_event_is_answered_and_stored_like_a_structured_one(
    client: Client, js: JetStreamContext, names: Names, signed: Sign
) -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    ce_headers, body = binary_request("evt-bin-1", subject="order 75437-1 ü", time=moment)
    headers = {**signed(body), **ce_headers}
    answer = await client.post("/webhooks/stockx", content=body, headers=headers)
    assert (answer.status_code, answer.json()) == (202, {"id": "evt-bin-1", "duplicate": False})

    raw = await stored(js, names, "ingest.stockx.order.updated")
    event = strictly_parsed(raw)
    assert event.get_id() == "evt-bin-1"
    assert event.get_type() == "stockx.order.updated"
    assert event.get_subject() == "order 75437-1 ü"  # percent-decoded from its header
    assert event.get_time() == moment
    assert json.loads(raw)["data"] == ORDER  # the body became `data`, byte for byte JSON

    again = await client.post(
        "/webhooks/stockx", content=body, headers={**signed(body), **ce_headers}
    )
    assert (again.status_code, again.json()) == (200, {"id": "evt-bin-1", "duplicate": True})


async def test_binary_mode_data_is_validated_like_structured_data(
    client: Client, signed: Sign
) -> None:
    ce_headers, _ = binary_request("evt-bin-2")
    body = body_of({"orderNumber": "75437-2"})  # no status
    answer = await client.post(
        "/webhooks/stockx", content=body, headers={**signed(body), **ce_headers}
    )
    assert answer.status_code == 422, answer.text
    assert "status" in answer.json()["detail"]


async def test_binary_mode_with_another_specversion_or_trailing_bytes_is_400(
    client: Client, signed: Sign
) -> None:
    ce_headers, body = binary_request("evt-bin-3")
    old = {**ce_headers, "ce-specversion": "0.3"}
    answer = await client.post("/webhooks/stockx", content=body, headers={**signed(body), **old})
    assert answer.status_code == 400, answer.text
    smuggled = body + b',"type":"other"'
    answer = await client.post(
        "/webhooks/stockx", content=smuggled, headers={**signed(smuggled), **ce_headers}
    )
    assert answer.status_code == 400, answer.text


async def test_a_structured_event_without_specversion_is_stored_with_it(
    client: Client, js: JetStreamContext, names: Names, signed: Sign
) -> None:
    event = order_event()
    del event["specversion"]
    body = body_of(event)
    answer = await client.post("/webhooks/stockx", content=body, headers=signed(body))
    assert answer.status_code == 202, answer.text
    parsed = strictly_parsed(await stored(js, names, "ingest.stockx.order.updated"))
    assert (parsed.get_specversion(), parsed.get_id()) == ("1.0", event["id"])
