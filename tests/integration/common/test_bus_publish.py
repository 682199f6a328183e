"""Publishing: de-duplication by msg-id, pipelined batches, event headers, failing fast."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from soleflip.common.bus import (
    Names,
    Outgoing,
    Publisher,
    PubResult,
    connect,
    disconnect,
    ensure_streams,
)
from soleflip.common.contracts import new_event
from soleflip.common.errors import Unavailable


async def test_same_msg_id_twice_is_stored_once(bus_js: JetStreamContext, names: Names) -> None:
    publisher = Publisher(bus_js, names)

    first = await publisher.publish("ingest.test.thing", b"one", msg_id="evt-1")
    second = await publisher.publish("ingest.test.thing", b"two", msg_id="evt-1")

    info = await bus_js.stream_info(names.stream("INGEST"))
    assert (first.duplicate, second.duplicate) == (False, True)
    assert first.seq == second.seq
    assert first.stream == names.stream("INGEST")
    assert info.state.messages == 1


async def test_publish_many_returns_results_in_input_order(
    bus_js: JetStreamContext, names: Names
) -> None:
    publisher = Publisher(bus_js, names)
    await publisher.publish("ingest.test.thing", b"x", msg_id="evt-3")
    messages = [Outgoing("ingest.test.thing", f"{i}".encode(), f"evt-{i}") for i in range(200)]

    results = await publisher.publish_many(messages)

    assert len(results) == 200
    assert results[3].duplicate
    fresh = [r for r in results if not r.duplicate]
    assert [r.seq for r in fresh] == sorted(r.seq for r in fresh)
    assert len({r.seq for r in fresh}) == 199
    stored = await bus_js.get_msg(names.stream("INGEST"), seq=results[150].seq)
    assert stored.data == b"150"


async def test_publish_many_can_return_per_item_failures(
    bus_js: JetStreamContext, names: Names
) -> None:
    publisher = Publisher(bus_js, names, timeout=0.5, attempts=2, retry_pause=0.05)
    messages = [
        Outgoing("ingest.test.a", b"a", "evt-a"),
        Outgoing("nowhere.captured", b"b", "evt-b"),
        Outgoing("ingest.test.c", b"c", "evt-c"),
    ]

    results = await publisher.publish_many(messages, return_exceptions=True)

    assert isinstance(results[0], PubResult)
    assert isinstance(results[1], Unavailable)
    assert isinstance(results[2], PubResult)
    with pytest.raises(Unavailable):
        await publisher.publish_many(messages)


@pytest.fixture
def tracing() -> Iterator[trace.Tracer]:
    provider = TracerProvider()
    yield provider.get_tracer("test")
    provider.shutdown()


async def test_publish_event_sets_id_type_and_trace_context(
    bus_js: JetStreamContext, names: Names, tracing: trace.Tracer
) -> None:
    event = new_event("stockx.order.updated", {"orderNumber": "1-1"}, source="test")
    with tracing.start_as_current_span("webhook") as span:
        result = await Publisher(bus_js, names).publish_event("ingest.stockx.order.updated", event)
        trace_id = format(span.get_span_context().trace_id, "032x")

    stored = await bus_js.get_msg(names.stream("INGEST"), seq=result.seq)
    headers = stored.headers or {}
    assert headers["Nats-Msg-Id"] == event.id
    assert headers["ce-type"] == "stockx.order.updated"
    assert headers["traceparent"].split("-")[1] == trace_id
    assert stored.subject == names.subject("ingest.stockx.order.updated")


async def test_publish_while_nats_is_down_fails_fast(restartable_nats: Any, names: Names) -> None:
    server = restartable_nats
    nc: Client = await connect(server.url, name="test")
    try:
        await ensure_streams(nc.jetstream(), names)
        publisher = Publisher(nc.jetstream(), names)
        server.stop()
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await publisher.publish("ingest.test.thing", b"x", msg_id="evt-down")
        elapsed = time.monotonic() - started
    finally:
        await disconnect(nc)
    assert elapsed < 3.0


async def test_publish_to_an_uncaptured_subject_is_unavailable(
    bus_js: JetStreamContext, names: Names
) -> None:
    publisher = Publisher(bus_js, names, timeout=0.5, attempts=2, retry_pause=0.05)

    with pytest.raises(Unavailable, match="failed 2 times"):
        await publisher.publish("nowhere.captured", b"x", msg_id="evt-x")
