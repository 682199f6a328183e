# ruff: noqa: F811 - a fixture is imported into this module, then requested by name
"""One span and one log context per message, batch or single, on a real NATS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from soleflip.common.bus import ConsumerRunner, Message, Names, Outcome, Publisher, _spans
from soleflip.common.contracts import new_event
from soleflip.common.errors import InvalidInput
from soleflip.common.observability import inject_headers
from tests.support.spans import named as consumer_spans
from tests.support.spans import spans  # noqa: F401 - a fixture
from tests.support.wait import until


async def test_each_message_of_a_batch_gets_a_span_in_its_publishers_trace_and_its_log_context(
    bus_nc: Client, bus_js: JetStreamContext, names: Names, spans: InMemorySpanExporter
) -> None:
    publisher = Publisher(bus_js, names)
    tracer = trace.get_tracer("test")
    published: dict[str, trace.SpanContext] = {}
    for n in range(3):
        event = new_event("stockx.order.updated", {"orderNumber": f"1-{n}"}, source="test")
        with tracer.start_as_current_span(f"webhook {n}") as span:
            await publisher.publish_event("ingest.stockx.order.updated", event)
        published[event.id] = span.get_span_context()
    in_handler: list[dict[str, Any]] = []

    async def handle(messages: Sequence[Message]) -> Sequence[Outcome]:
        in_handler.append(structlog.contextvars.get_contextvars())
        poison = Outcome.dead(InvalidInput("size 99 does not exist"))
        return [poison if m.stream_seq == 2 else Outcome.ack() for m in messages]

    runner = ConsumerRunner(
        bus_nc,
        names,
        stream="INGEST",
        durable="test-traced",
        subjects=["ingest.>"],
        batch_handler=handle,
        batch_size=10,
    )
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        await runner.start()
        try:
            await until(lambda: len(consumer_spans(spans, "test-traced process")) == 3)
        finally:
            await runner.stop(grace=5)

    [batch] = consumer_spans(spans, "test-traced process batch")
    assert batch.kind == trace.SpanKind.CONSUMER
    linked = {(link.context.trace_id, link.context.span_id) for link in batch.links}
    assert linked == {(c.trace_id, c.span_id) for c in published.values()}
    assert batch.attributes is not None
    assert batch.attributes["messaging.batch.message_count"] == 3
    outcomes = {}
    for span in consumer_spans(spans, "test-traced process"):
        assert span.attributes is not None
        event_id = str(span.attributes["messaging.message.id"])
        parent = published[event_id]
        assert span.context is not None
        assert span.parent is not None
        assert (span.context.trace_id, span.parent.span_id) == (parent.trace_id, parent.span_id)
        assert batch.context is not None
        assert [link.context.span_id for link in span.links] == [batch.context.span_id]
        outcomes[span.attributes["messaging.nats.stream_sequence"]] = (
            span.attributes["soleflip.outcome"],
            span.status.status_code,
        )
    assert outcomes == {
        1: ("ack", trace.StatusCode.UNSET),
        2: ("dead", trace.StatusCode.ERROR),
        3: ("ack", trace.StatusCode.UNSET),
    }
    assert in_handler[0]["consumer"] == names.durable("test-traced")
    assert in_handler[0]["batch_size"] == 3
    [dead] = [line for line in logs if line["event"] == "nats.message_dead"]
    assert {k: dead[k] for k in ("consumer", "subject", "stream_seq", "delivery")} == {
        "consumer": names.durable("test-traced"),
        "subject": "ingest.stockx.order.updated",
        "stream_seq": 2,
        "delivery": 1,
    }
    assert dead["event_id"] in published


async def test_a_batch_from_one_trace_continues_it_and_so_do_its_outbox_events(
    bus_nc: Client, bus_js: JetStreamContext, names: Names, spans: InMemorySpanExporter
) -> None:
    publisher = Publisher(bus_js, names)
    with trace.get_tracer("test").start_as_current_span("webhook") as webhook:
        for n in range(2):
            event = new_event("stockx.order.updated", {"orderNumber": f"2-{n}"}, source="test")
            await publisher.publish_event("ingest.stockx.order.updated", event)
    enqueued: list[dict[str, str]] = []

    async def handle(messages: Sequence[Message]) -> Sequence[Outcome]:
        enqueued.append(inject_headers({}))  # what an outbox row written here carries
        return [Outcome.ack() for _ in messages]

    runner = ConsumerRunner(
        bus_nc,
        names,
        stream="INGEST",
        durable="test-one-trace",
        subjects=["ingest.>"],
        batch_handler=handle,
        batch_size=10,
    )
    await runner.start()
    try:
        await until(lambda: len(consumer_spans(spans, "test-one-trace process")) == 2)
    finally:
        await runner.stop(grace=5)

    published = webhook.get_span_context()
    batches = consumer_spans(spans, "test-one-trace process batch")
    assert batches
    for batch in batches:
        assert batch.parent is not None
        assert batch.context is not None
        assert (batch.context.trace_id, batch.parent.span_id) == (
            published.trace_id,
            published.span_id,
        )
    assert {h["traceparent"].split("-")[1] for h in enqueued} == {f"{published.trace_id:032x}"}


async def test_without_a_recorder_no_span_is_made_and_the_publishers_context_flows_on(
    bus_nc: Client,
    bus_js: JetStreamContext,
    names: Names,
    spans: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publisher = Publisher(bus_js, names)
    with trace.get_tracer("test").start_as_current_span("webhook") as webhook:
        event = new_event("stockx.order.updated", {"orderNumber": "3-1"}, source="test")
        await publisher.publish_event("ingest.stockx.order.updated", event)
    monkeypatch.setattr(_spans, "recording", lambda: False)
    seen: list[dict[str, str]] = []

    async def handle_one(message: Message) -> None:
        seen.append(inject_headers({}))

    async def handle_batch(messages: Sequence[Message]) -> Sequence[Outcome]:
        seen.append(inject_headers({}))
        return [Outcome.ack() for _ in messages]

    for count, (durable, kind) in enumerate(
        (("test-quiet-one", "handler"), ("test-quiet-batch", "batch_handler")), start=1
    ):
        runner = ConsumerRunner(
            bus_nc,
            names,
            stream="INGEST",
            durable=durable,
            subjects=["ingest.>"],
            **{kind: handle_one if kind == "handler" else handle_batch},  # type: ignore[arg-type]
        )
        await runner.start()
        try:
            await until(lambda n=count: len(seen) == n)
        finally:
            await runner.stop(grace=5)

    published = webhook.get_span_context()
    ids = f"{published.trace_id:032x}-{published.span_id:016x}"
    assert [h["traceparent"][3:-3] for h in seen] == [ids, ids]
    assert not [s for s in spans.get_finished_spans() if s.name.startswith("test-quiet")]
