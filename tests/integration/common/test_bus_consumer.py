"""The consumer runner: ack, redelivery, NAK delays, poison, max_deliver, drain, heartbeats."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY

from soleflip.common.bus import (
    ConsumerRunner,
    Message,
    Names,
    Outcome,
    Publisher,
    list_dead_letters,
)
from soleflip.common.contracts import CloudEvent, new_event
from soleflip.common.errors import InvalidInput, RateLimited, Unavailable
from tests.support.wait import until

Handler = Callable[[Message], Awaitable[None]]


@pytest.fixture
async def runners(bus_nc: Client, names: Names) -> AsyncIterator[Callable[..., ConsumerRunner]]:
    """Builds started-on-demand runners on INGEST for `ingest.>`; stops them afterwards."""
    made: list[ConsumerRunner] = []

    def make(handler: Handler | None = None, **options: Any) -> ConsumerRunner:
        options.setdefault("durable", "test-worker")
        options.setdefault("nak_delays", (0.1,))
        runner = ConsumerRunner(
            bus_nc, names, stream="INGEST", subjects=["ingest.>"], handler=handler, **options
        )
        made.append(runner)
        return runner

    yield make
    for runner in made:
        await runner.stop(grace=5)


async def _publish(js: JetStreamContext, names: Names, *ids: str) -> None:
    publisher = Publisher(js, names)
    for event_id in ids:
        await publisher.publish("ingest.test.thing", event_id.encode(), msg_id=event_id)


async def _is(value: Awaitable[int], want: int) -> bool:
    return await value == want


async def _pending(js: JetStreamContext, names: Names, durable: str = "test-worker") -> int:
    info = await js.consumer_info(names.stream("INGEST"), names.durable(durable))
    return int(info.num_ack_pending) + int(info.num_pending)


async def test_handled_messages_are_acked_with_contract_subject_and_id(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    seen: list[Message] = []

    async def handle(message: Message) -> None:
        seen.append(message)

    await runners(handle).start()
    await _publish(bus_js, names, "e1", "e2")
    await until(lambda: len(seen) == 2)

    assert [(m.subject, m.event_id, m.data) for m in seen] == [
        ("ingest.test.thing", "e1", b"e1"),
        ("ingest.test.thing", "e2", b"e2"),
    ]
    await until(lambda: _is(_pending(bus_js, names), 0))


async def test_message_is_redelivered_after_an_unexpected_exception(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    deliveries: list[int] = []

    async def flaky(message: Message) -> None:
        deliveries.append(message.num_delivered)
        if message.num_delivered < 3:
            raise RuntimeError("database hiccup")

    await runners(flaky).start()
    await _publish(bus_js, names, "e1")
    await until(lambda: len(deliveries) == 3)

    assert deliveries == [1, 2, 3]
    await until(lambda: _is(_pending(bus_js, names), 0))


async def test_nak_delay_is_honoured(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    times: list[float] = []

    async def transient(message: Message) -> None:
        times.append(time.monotonic())
        if len(times) == 1:
            raise RateLimited("StockX says later")

    await runners(transient, nak_delays=(1.5,)).start()
    await _publish(bus_js, names, "e1")
    await until(lambda: len(times) == 2)

    assert times[1] - times[0] >= 1.5


async def test_poison_is_terminated_and_copied_to_the_dead_letter_subject(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    deliveries: list[int] = []

    async def strict(message: Message) -> None:
        deliveries.append(message.num_delivered)
        message.event()  # b"e1" is not a CloudEvent: msgspec.DecodeError

    await runners(strict).start()
    await _publish(bus_js, names, "e1")
    await until(lambda: len(deliveries) == 1)
    await until(lambda: _is(_dead_count(bus_js, names), 1))

    [letter] = await list_dead_letters(bus_js, names, "test-worker")
    assert letter.subject == "ingest.test.thing"
    assert letter.consumer == "test-worker"
    assert letter.deliveries == 1
    assert letter.original_msg_id == "e1"
    assert letter.error.startswith("DecodeError")
    assert letter.data == b"e1"
    assert letter.headers["Nats-Msg-Id"] == f"test-worker:{letter.stream_seq}"
    assert letter.headers["x-dlq-stream"] == "INGEST"
    await asyncio.sleep(0.5)
    assert deliveries == [1]  # TERM: never redelivered


async def _dead_count(js: JetStreamContext, names: Names) -> int:
    return len(await list_dead_letters(js, names))


async def test_expected_non_transient_error_goes_to_the_dead_letters(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    async def reject(message: Message) -> None:
        raise InvalidInput("size 99 does not exist")

    await runners(reject).start()
    await _publish(bus_js, names, "e1")
    await until(lambda: _is(_dead_count(bus_js, names), 1))

    [letter] = await list_dead_letters(bus_js, names)
    assert letter.error == "InvalidInput: size 99 does not exist"


async def test_after_max_deliver_the_message_goes_to_the_dead_letters_with_its_count(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    deliveries: list[int] = []

    async def broken(message: Message) -> None:
        deliveries.append(message.num_delivered)
        raise RuntimeError("bug")

    await runners(broken, max_deliver=3).start()
    await _publish(bus_js, names, "e1")
    await until(lambda: _is(_dead_count(bus_js, names), 1))

    [letter] = await list_dead_letters(bus_js, names)
    assert letter.deliveries == 3
    assert letter.error == "RuntimeError: bug"
    labels = {"consumer": names.durable("test-worker")}
    assert REGISTRY.get_sample_value("soleflip_bus_dead_letters_total", labels) == 1
    assert (
        REGISTRY.get_sample_value("soleflip_bus_messages_total", {**labels, "outcome": "retry"})
        == 2
    )
    await asyncio.sleep(0.5)
    assert deliveries == [1, 2, 3]
    assert await _pending(bus_js, names) == 0


async def test_long_handler_is_kept_alive_by_in_progress_acks(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    deliveries: list[int] = []

    async def slow(message: Message) -> None:
        deliveries.append(message.num_delivered)
        await asyncio.sleep(3.0)

    await runners(slow, ack_wait=1.0).start()
    await _publish(bus_js, names, "e1")
    await until(lambda: len(deliveries) == 1)
    await until(lambda: _is(_pending(bus_js, names), 0))

    assert deliveries == [1]


async def test_stop_finishes_the_message_in_hand_and_hands_back_the_rest(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def slow(message: Message) -> None:
        started.set()
        await asyncio.sleep(1.0)
        finished.append(message.data.decode())

    await _publish(bus_js, names, "e1", "e2", "e3")
    runner = runners(slow, batch_size=10)
    await runner.start()
    await started.wait()
    await runner.stop(grace=5)

    assert finished == ["e1"]
    assert not runner.running
    # e2 and e3 were NAKed at once, not left to the 30 s ack_wait: a new runner gets them now.

    rest: list[str] = []

    async def collect(message: Message) -> None:
        rest.append(message.data.decode())

    await runners(collect).start()
    await until(lambda: len(rest) == 2, 3)
    assert rest == ["e2", "e3"]


async def test_batch_handler_outcomes_apply_per_message(
    bus_js: JetStreamContext, names: Names, bus_nc: Client
) -> None:
    batches: list[int] = []
    retried: list[str] = []

    async def apply(messages: Sequence[Message]) -> Sequence[Outcome]:
        batches.append(len(messages))
        outcomes = []
        for message in messages:
            if message.data == b"bad":
                outcomes.append(Outcome.from_error(msgspec.ValidationError("no")))
            elif message.data == b"later" and message.num_delivered == 1:
                outcomes.append(Outcome.retry(Unavailable("later")))
                retried.append("later")
            else:
                outcomes.append(Outcome.ack())
        return outcomes

    publisher = Publisher(bus_js, names)
    for i, body in enumerate([b"ok", b"bad", b"later", b"ok"]):
        await publisher.publish("ingest.test.thing", body, msg_id=f"b{i}")
    runner = ConsumerRunner(
        bus_nc,
        names,
        stream="INGEST",
        durable="test-batch",
        subjects=["ingest.>"],
        batch_handler=apply,
        batch_size=500,
        nak_delays=(0.1,),
    )
    await runner.start()
    try:
        await until(lambda: _is(_pending(bus_js, names, "test-batch"), 0))
    finally:
        await runner.stop()

    assert batches[0] == 4
    assert retried == ["later"]
    [letter] = await list_dead_letters(bus_js, names, "test-batch")
    assert letter.data == b"bad"


async def test_a_deleted_consumer_is_recreated(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    seen: list[bytes] = []

    async def handle(message: Message) -> None:
        seen.append(message.data)

    await runners(handle, fetch_timeout=0.5).start()
    await _publish(bus_js, names, "e1")
    await until(lambda: seen == [b"e1"])

    await bus_js.delete_consumer(names.stream("INGEST"), names.durable("test-worker"))
    await asyncio.sleep(0.2)
    await _publish(bus_js, names, "e2")

    # The recreated consumer starts from the stream's beginning (deliver all): e1 comes again,
    # which the inbox of a real handler would skip.
    await until(lambda: b"e2" in seen, 15)


async def test_handler_sees_the_event_and_the_publishers_trace_context(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    seen: list[tuple[CloudEvent, int]] = []

    async def handle(message: Message) -> None:
        parent = trace.get_current_span(message.otel_context).get_span_context()
        seen.append((message.event(), parent.trace_id))

    await runners(handle).start()
    event = new_event("stockx.order.updated", {"orderNumber": "1-1"}, source="test")
    provider = TracerProvider()
    with provider.get_tracer("test").start_as_current_span("webhook") as span:
        await Publisher(bus_js, names).publish_event("ingest.stockx.order.updated", event)
    provider.shutdown()
    await until(lambda: len(seen) == 1)

    assert seen == [(event, span.get_span_context().trace_id)]
