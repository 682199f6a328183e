"""Trace context helpers and exporter selection from the standard OTEL_* variables."""

from __future__ import annotations

from opentelemetry import trace

from soleflip.common.observability import (
    configure_observability,
    extract_context,
    inject_headers,
    tracer_provider,
)
from soleflip.common.observability._tracing import _exporter_from_env, configure_tracing
from soleflip.common.settings import Settings

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_inject_then_extract_round_trips_the_current_span() -> None:
    configure_observability("trace-test", Settings(), env={})
    with trace.get_tracer("t").start_as_current_span("publish") as span:
        headers = inject_headers({"Nats-Msg-Id": "1"})
    assert headers["Nats-Msg-Id"] == "1"
    extracted = trace.get_current_span(extract_context(headers)).get_span_context()
    assert extracted.trace_id == span.get_span_context().trace_id
    assert extracted.span_id == span.get_span_context().span_id


def test_extract_accepts_asgi_byte_pairs_in_any_case() -> None:
    context = extract_context([(b"Traceparent", TRACEPARENT.encode())])
    span_context = trace.get_current_span(context).get_span_context()
    assert format(span_context.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span_context.is_remote


def test_extract_without_headers_gives_no_parent() -> None:
    assert not trace.get_current_span(extract_context(None)).get_span_context().is_valid


def test_provider_is_an_sdk_provider_and_configuring_again_keeps_it() -> None:
    configure_observability("trace-test", Settings(), env={})
    first = tracer_provider()
    assert first is not None
    assert configure_tracing("other", {}) == "already configured"
    assert tracer_provider() is first


def test_sdk_disabled_is_respected() -> None:
    assert configure_tracing("x", {"OTEL_SDK_DISABLED": "true"}) == "disabled"


def test_no_endpoint_means_no_exporter() -> None:
    exporter, description = _exporter_from_env({})
    assert exporter is None
    assert "no OTEL_EXPORTER_OTLP_ENDPOINT" in description


def test_endpoint_without_exporter_package_falls_back_to_none() -> None:
    exporter, description = _exporter_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"})
    try:
        import opentelemetry.exporter.otlp  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        assert exporter is None
        assert "no opentelemetry-exporter-otlp" in description
    else:
        assert exporter is not None


def test_traces_exporter_none_and_console() -> None:
    assert _exporter_from_env({"OTEL_TRACES_EXPORTER": "none"})[0] is None
    assert _exporter_from_env({"OTEL_TRACES_EXPORTER": "console"})[1] == "console"
