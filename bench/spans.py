"""Benchmark of the consumer's per-message span code (issue 15 item 2). Not a test.

    .venv/bin/python bench/spans.py [--number 20000] [--repeat 5]

Times, in one process and without I/O, what the consumer runner adds per message for tracing
(`soleflip.common.bus._spans`): a message handled alone (its span, current, settled in it with
its outcome) and a message of a batch of 100 (the batch span, one span per message made current
to settle, outcome, end), once while
nothing records spans (no exporter: no SDK span is made) and once while recording (an in-memory
processor that drops what it gets). Prints one JSON document: microseconds per message, the best
of `--repeat` runs (the least disturbed by whatever else the machine runs).
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from soleflip.common.bus import Outcome, _spans
from soleflip.common.bus.message import Message
from soleflip.common.observability import (
    add_span_processor,
    configure_tracing,
    extract_context,
    recording,
)

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
BATCH = 100


class _Drop(SpanProcessor):
    """Receives every ended span and keeps nothing (the cost of recording, not of exporting)."""

    def on_end(self, span: ReadableSpan) -> None:
        return None


def _message(seq: int) -> Message:
    return Message(
        subject="ingest.stockx.order.updated",
        data=b"{}",
        headers={"traceparent": TRACEPARENT},
        event_id=f"e-{seq}",
        num_delivered=1,
        stream_seq=seq,
        otel_context=extract_context({"traceparent": TRACEPARENT}),
        raw=None,  # type: ignore[arg-type]  # the span code never touches the NATS message
    )


def _single(message: Message) -> Callable[[], None]:
    ack = Outcome.ack()

    def run() -> None:
        with _spans.message_span("bench", message) as span, _spans.current(message, span):
            _spans.record_outcome(span, ack)  # settled in the message's span, as the runner does

    return run


def _batch(messages: Sequence[Message]) -> Callable[[], None]:
    ack = Outcome.ack()

    def run() -> None:
        with _spans.batch_span("bench", messages):
            for message in messages:
                span = _spans.start_message_span("bench", message, [])
                with _spans.current(message, span):
                    _spans.record_outcome(span, ack)
                span.end()

    return run


def _us_per_message(run: Callable[[], None], per_call: int, number: int, repeat: int) -> float:
    best = min(timeit.repeat(run, number=number, repeat=repeat))
    return round(best / number / per_call * 1e6, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    configure_tracing("bench", {"OTEL_TRACES_EXPORTER": "none"})
    one, many = _message(1), [_message(n) for n in range(BATCH)]
    results: dict[str, Any] = {}
    for mode in ("quiet", "recording"):
        if mode == "recording":
            add_span_processor(_Drop())
        assert recording() == (mode == "recording")
        results[mode] = {
            "single_us_per_message": _us_per_message(_single(one), 1, args.number, args.repeat),
            f"batch_of_{BATCH}_us_per_message": _us_per_message(
                _batch(many), BATCH, max(args.number // BATCH, 1), args.repeat
            ),
        }
    print(json.dumps({"bench": "consumer spans", **results}, indent=2))


if __name__ == "__main__":
    main()
