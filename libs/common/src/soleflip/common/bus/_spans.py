"""The consumer's spans: one per message in its publisher's trace, and one per handled batch.

A single-message handler runs inside its message's span. A batch handler runs inside a batch
span linked to every message's publisher; each message also gets its own span, parented by its
publisher's context and linked to the batch, which carries the message's outcome, so one
event's trace shows it in every service whichever way it was consumed. When every message of a
batch belongs to one trace (a batch of one above all), the batch span continues that trace, so
the handler's database spans and the events it writes to its outbox stay in it too.

While nothing records spans (`observability.recording()` is false) no SDK span is made (one costs
10-15 µs): the publisher's context is made current instead, so logs and outbox rows carry its
trace ids and the trace continues in the next service.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from opentelemetry import context, trace
from opentelemetry.context import Context

from soleflip.common.bus.message import Message, Outcome
from soleflip.common.observability import recording

tracer = trace.get_tracer("soleflip.common.bus.consumer")


@contextlib.contextmanager
def message_span(durable: str, message: Message) -> Iterator[trace.Span]:
    """The current span while one message is handled on its own."""
    if not recording():
        with current(message, _publisher(message)) as span:
            yield span
        return
    with tracer.start_as_current_span(
        f"{durable} process",
        context=message.otel_context,
        kind=trace.SpanKind.CONSUMER,
        attributes=_attributes(message),
    ) as span:
        yield span


def start_message_span(durable: str, message: Message, links: Sequence[trace.Link]) -> trace.Span:
    """A message's span within a batch (not current; the caller ends it once settled)."""
    if not recording():
        return _publisher(message)  # ending or annotating it is a no-op
    return tracer.start_span(
        f"{durable} process",
        context=message.otel_context,
        kind=trace.SpanKind.CONSUMER,
        links=links,
        attributes=_attributes(message),
    )


@contextlib.contextmanager
def batch_span(durable: str, messages: Sequence[Message]) -> Iterator[trace.Span]:
    """The current span while a batch handler runs, linked to each message's publisher and the
    child of their trace when they share one."""
    publishers = [_publisher(m) for m in messages]
    contexts = [s.get_span_context() for s in publishers]
    shared = bool(contexts) and all(
        c.is_valid and c.trace_id == contexts[0].trace_id for c in contexts
    )
    if not recording():
        token = context.attach(messages[0].otel_context if shared else Context())
        try:
            yield publishers[0] if shared else trace.INVALID_SPAN
        finally:
            context.detach(token)
        return
    attributes: dict[str, str | int] = {
        "messaging.system": "nats",
        "messaging.consumer.group.name": durable,
        "messaging.batch.message_count": len(messages),
    }
    with tracer.start_as_current_span(
        f"{durable} process batch",
        context=messages[0].otel_context if shared else None,
        kind=trace.SpanKind.CONSUMER,
        links=[trace.Link(c) for c in contexts if c.is_valid],
        attributes=attributes,
    ) as span:
        yield span


@contextlib.contextmanager
def current(message: Message, span: trace.Span) -> Iterator[trace.Span]:
    """`span` (the message's) as the current span; without a recorder, the publisher's context
    is attached as it is (`trace.use_span` costs eight times as much)."""
    if span.is_recording():
        with trace.use_span(span, end_on_exit=False):
            yield span
        return
    token = context.attach(message.otel_context)
    try:
        yield span
    finally:
        context.detach(token)


def record_outcome(span: trace.Span, outcome: Outcome) -> None:
    if not span.is_recording():
        return
    span.set_attribute("soleflip.outcome", outcome.kind)
    if outcome.kind == "dead":
        span.set_status(trace.StatusCode.ERROR, repr(outcome.error))


def _publisher(message: Message) -> trace.Span:
    """The publisher's (remote, non-recording) span, or the invalid span without one."""
    return trace.get_current_span(message.otel_context)


def _attributes(message: Message) -> dict[str, str | int]:
    return {
        "messaging.system": "nats",
        "messaging.destination.name": message.subject,
        "messaging.message.id": message.event_id or "",
        "messaging.nats.stream_sequence": message.stream_seq,
        "messaging.nats.delivery": message.num_delivered,
    }
