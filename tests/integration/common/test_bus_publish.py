"""Publishing: de-duplication by msg-id, pipelined batches, event headers, failing fast, and
the shared write path (`TurnWriter`) across a reconnect."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from soleflip.common.bus import (
    Names,
    Outgoing,
    Publisher,
    PubResult,
    ReplyInbox,
    TurnWriter,
    connect,
    decode_pub_ack,
    disconnect,
    ensure_streams,
)
from soleflip.common.contracts import new_event
from soleflip.common.errors import Unavailable
from tests.support.wait import until


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


async def test_a_batch_goes_out_in_one_write_and_every_message_gets_its_puback(
    bus_nc: Client, bus_js: JetStreamContext, names: Names, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = Publisher(bus_js, names)
    await publisher.publish("ingest.test.thing", b"warm", msg_id="evt-warm")  # reply inbox made
    transport: Any = bus_nc._transport
    written, write = [], transport.writelines

    def counting(commands: list[bytes]) -> None:
        written.append(sum(c.startswith(b"HPUB") for c in commands))
        write(commands)

    monkeypatch.setattr(transport, "writelines", counting)
    messages = [Outgoing("ingest.test.thing", b"%d" % i, f"evt-b{i}") for i in range(300)]

    results = await publisher.publish_many(messages)

    assert [n for n in written if n] == [300]
    assert len({r.seq for r in results if not r.duplicate}) == 300


async def test_what_is_published_while_reconnecting_arrives_after_the_reconnect(
    restartable_nats: Any, names: Names
) -> None:
    nc: Client = await connect(restartable_nats.url, name="writer", reconnect_wait=0.2)
    acks: list[Msg] = []
    try:
        await ensure_streams(nc.jetstream(), names)
        inbox = f"{nc.new_inbox()}."
        await nc.subscribe(inbox + "*", future=ReplyInbox(acks.append))
        writer, subject = TurnWriter(nc), names.subject("ingest.test.thing")

        async def send(tag: str) -> bool:
            headers = {"Nats-Msg-Id": tag}
            if writer.write_soon(subject, tag.encode(), inbox + tag, headers):
                return True
            await nc.publish(subject, tag.encode(), reply=inbox + tag, headers=headers)
            return False

        assert await send("before")
        await until(lambda: len(acks) == 1)
        await asyncio.to_thread(restartable_nats.stop)
        await until(lambda: nc.is_reconnecting)
        buffered = [await send(f"during-{i}") for i in range(20)]
        await asyncio.to_thread(restartable_nats.start)
        await until(lambda: len(acks) == 21, 20, what="PubAcks after the reconnect")
        assert await send("after")
        await until(lambda: len(acks) == 22)
        info = await nc.jetstream().stream_info(names.stream("INGEST"))
    finally:
        await disconnect(nc)
    assert buffered == [False] * 20  # nats-py's publish buffered them, as its reconnect sends
    assert [decode_pub_ack(a.data).error for a in acks] == [None] * 22
    assert info.state.messages == 22
