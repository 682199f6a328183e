"""Recording spans in a test: one in-memory exporter on the process's tracer provider.

The provider is process-global and a processor cannot be removed again, so the exporter is
attached once (which also turns on span recording and the asyncpg/httpx instrumentation, as an
OTLP exporter would) and emptied around each test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from soleflip.common.observability import add_span_processor, configure_tracing

_EXPORTER = InMemorySpanExporter()
_attached = False


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span finished during the test."""
    global _attached
    configure_tracing("test", {"OTEL_TRACES_EXPORTER": "none"})
    if not _attached:
        add_span_processor(SimpleSpanProcessor(_EXPORTER))
        _attached = True
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]
