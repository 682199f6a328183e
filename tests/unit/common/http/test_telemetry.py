"""Request telemetry: request ids, trace continuation, server spans, redacted request logs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from soleflip.common.observability import tracer_provider

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans(client: TestClient[Litestar]) -> Iterator[InMemorySpanExporter]:
    provider = tracer_provider()
    assert provider is not None
    # The provider is process-global and processors cannot be removed: attach one exporter once.
    if not getattr(provider, "_soleflip_test_exporter", False):
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        provider._soleflip_test_exporter = True  # type: ignore[attr-defined]
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def server_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]


def test_incoming_traceparent_is_continued_by_the_server_span(
    client: TestClient[Litestar], spans: InMemorySpanExporter
) -> None:
    client.get("/echo-trace", headers={"traceparent": TRACEPARENT})
    (span,) = server_spans(spans)
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_ID
    assert span.name == "GET /echo-trace"
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/echo-trace"
    assert span.attributes["http.response.status_code"] == 200


def test_inject_headers_in_a_handler_carries_the_same_trace(
    client: TestClient[Litestar], spans: InMemorySpanExporter
) -> None:
    injected = client.get("/echo-trace", headers={"traceparent": TRACEPARENT}).json()
    _version, trace_id, span_id, _flags = injected["traceparent"].split("-")
    assert trace_id == TRACE_ID
    # The handler's context is the server span, a child of the caller's span.
    (span,) = server_spans(spans)
    assert span_id == format(span.context.span_id, "016x")
    assert span_id != PARENT_ID


def test_without_traceparent_a_new_trace_starts(
    client: TestClient[Litestar], spans: InMemorySpanExporter
) -> None:
    client.get("/echo-trace")
    (span,) = server_spans(spans)
    assert span.parent is None


def test_health_probes_and_scrapes_make_no_trace(
    client: TestClient[Litestar], spans: InMemorySpanExporter
) -> None:
    for path in ("/health/live", "/health/ready", "/metrics"):
        assert client.get(path, headers={"traceparent": TRACEPARENT}).status_code < 500
    assert spans.get_finished_spans() == ()
    client.get("/echo-trace")
    assert len(server_spans(spans)) == 1  # the exporter does record other requests


def test_server_errors_mark_the_span_as_failed(
    client: TestClient[Litestar], spans: InMemorySpanExporter
) -> None:
    client.get("/fail/bug")
    (span,) = server_spans(spans)
    assert not span.status.is_ok
    assert span.status.status_code.name == "ERROR"


def test_log_lines_carry_trace_and_request_ids(
    client: TestClient[Litestar], log_lines: Any
) -> None:
    log_lines()
    response = client.get("/echo-trace", headers={"traceparent": TRACEPARENT})
    (access,) = [line for line in log_lines() if line["event"] == "http request"]
    assert access["trace_id"] == TRACE_ID
    assert access["request_id"] == response.headers["x-request-id"]
    assert access["route"] == "/echo-trace"
    assert access["status"] == 200
    assert access["service"] == "test-svc"
    assert access["duration_ms"] >= 0


def test_successful_probes_are_not_logged_at_info(
    client: TestClient[Litestar], log_lines: Any
) -> None:
    log_lines()
    client.get("/health/live")
    client.get("/metrics")
    assert [line for line in log_lines() if line["event"] == "http request"] == []


def test_a_sane_caller_request_id_is_kept_and_a_hostile_one_replaced(
    client: TestClient[Litestar],
) -> None:
    kept = client.get("/health/live", headers={"x-request-id": "n8n-exec-42"})
    assert kept.headers["x-request-id"] == "n8n-exec-42"
    replaced = client.get("/health/live", headers={"x-request-id": "bad id\nINJECTED"})
    assert replaced.headers["x-request-id"] != "bad id\nINJECTED"
    assert len(replaced.headers["x-request-id"]) == 32


def test_request_logs_never_contain_credentials_or_secrets(
    client: TestClient[Litestar], log_lines: Any, tokens: Any
) -> None:
    log_lines()
    client.get(
        "/log-headers",
        headers={
            "authorization": f"Bearer {tokens.admin}",
            "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
            "x-api-key": "stockx-client-secret-value",
            "cookie": "session=abcdef123456",
            "x-note": "secret whsec_c3VwZXJzZWNyZXRrZXkxMjM0NTY= and stockx-client-secret-value",
        },
    )
    lines = log_lines()
    text = "\n".join(map(str, lines))
    assert any(line["event"] == "incoming" for line in lines)
    for secret in (
        tokens.admin,
        "K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
        "stockx-client-secret-value",
        "c3VwZXJzZWNyZXRrZXkxMjM0NTY=",
        "abcdef123456",
    ):
        assert secret not in text
    assert "[REDACTED]" in text


def test_secrets_in_exception_messages_are_redacted(make_app: Any, log_lines: Any) -> None:
    from litestar import get

    @get("/leak")
    async def leak() -> None:
        raise RuntimeError("login failed with stockx-client-secret-value / Bearer abc.def.123")

    with TestClient(make_app(route_handlers=[leak])) as test_client:
        log_lines()
        assert test_client.get("/leak").status_code == 500
    text = "\n".join(map(str, log_lines()))
    assert "RuntimeError" in text
    assert "stockx-client-secret-value" not in text
    assert "abc.def.123" not in text
