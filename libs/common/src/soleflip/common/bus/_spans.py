"""The consumer's spans: one per message in its publisher's trace, and one per handled batch.

A single-message handler runs inside its message's span. A batch handler runs inside a batch
span linked to every message's publisher; each message also gets its own span, parented by its
publisher's context and linked to the batch, which carries the message's outcome, so one
event's trace shows it in every service whichever way it was consumed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from opentelemetry import trace

from soleflip.common.bus.message import Message, Outcome

tracer = trace.get_tracer("soleflip.common.bus.consumer")


@contextlib.contextmanager
def message_span(durable: str, message: Message) -> Iterator[trace.Span]:
    """The current span while one message is handled on its own."""
    with tracer.start_as_current_span(
        f"{durable} process",
        context=message.otel_context,
        kind=trace.SpanKind.CONSUMER,
        attributes=_attributes(message),
    ) as span:
        yield span


def start_message_span(durable: str, message: Message, links: Sequence[trace.Link]) -> trace.Span:
    """A message's span within a batch (not current; the caller ends it once settled)."""
    return tracer.start_span(
        f"{durable} process",
        context=message.otel_context,
        kind=trace.SpanKind.CONSUMER,
        links=links,
        attributes=_attributes(message),
    )


@contextlib.contextmanager
def batch_span(durable: str, messages: Sequence[Message]) -> Iterator[trace.Span]:
    """The current span while a batch handler runs, linked to each message's publisher."""
    links = [trace.Link(c) for m in messages if (c := _span_context(m)).is_valid]
    attributes: dict[str, str | int] = {
        "messaging.system": "nats",
        "messaging.consumer.group.name": durable,
        "messaging.batch.message_count": len(messages),
    }
    with tracer.start_as_current_span(
        f"{durable} process batch", kind=trace.SpanKind.CONSUMER, links=links, attributes=attributes
    ) as span:
        yield span


def record_outcome(span: trace.Span, outcome: Outcome) -> None:
    span.set_attribute("soleflip.outcome", outcome.kind)
    if outcome.kind == "dead":
        span.set_status(trace.StatusCode.ERROR, repr(outcome.error))


def _span_context(message: Message) -> trace.SpanContext:
    return trace.get_current_span(message.otel_context).get_span_context()


def _attributes(message: Message) -> dict[str, str | int]:
    return {
        "messaging.system": "nats",
        "messaging.destination.name": message.subject,
        "messaging.message.id": message.event_id or "",
        "messaging.nats.stream_sequence": message.stream_seq,
        "messaging.nats.delivery": message.num_delivered,
    }
