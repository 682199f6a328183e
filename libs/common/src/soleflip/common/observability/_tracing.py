"""OpenTelemetry tracing: one TracerProvider per process and W3C trace-context propagation.

The exporter follows the standard `OTEL_*` variables: `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set exports OTLP over HTTP/protobuf (`grpc` as protocol
when `opentelemetry-exporter-otlp-proto-grpc` is installed); unset, spans are still created (their
ids appear in logs and are propagated) but nothing is exported and no error is logged. Only while
exporting are asyncpg and httpx instrumented: database and HTTP client spans cost time per call.

`recording()` says whether spans go anywhere; the hot paths (a span per bus message, per webhook)
make no SDK span while it is false (an SDK span costs 10-15 µs) and pass the caller's context on
instead, so trace ids still flow. `add_span_processor` makes spans go somewhere (a test's
in-memory exporter) and instruments asyncpg and httpx like an exporter does.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

# The exporter module of each OTLP protocol (OTEL_EXPORTER_OTLP_PROTOCOL); HTTP is installed,
# gRPC (grpcio, a large native wheel) only where someone adds it.
_OTLP_EXPORTERS = {
    "http/protobuf": "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "grpc": "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
}

_provider: TracerProvider | None = None
_recording = False


def configure_tracing(service: str, env: Mapping[str, str]) -> str:
    """Install the global TracerProvider once; returns a short description of the exporter."""
    global _provider, _recording
    propagate.set_global_textmap(
        CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    )
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return "disabled"
    existing = trace.get_tracer_provider()
    if _provider is None and isinstance(existing, TracerProvider):
        _provider = existing  # someone (a test harness, an agent) installed one first
        _recording = True  # with processors we cannot see
    if _provider is not None:
        # OpenTelemetry allows one global provider per process; the first service name wins
        # (several services in one `soleflip dev` process share it).
        return "already configured"
    resource = Resource.create({SERVICE_NAME: service})
    provider = TracerProvider(resource=resource)
    exporter, description = _exporter_from_env(env)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider = provider
    if exporter is not None:
        _recording = True
        _instrument_libraries(provider)
    return description


def recording() -> bool:
    """Whether spans are exported anywhere (an exporter, or a processor added here)."""
    return _recording


def add_span_processor(processor: SpanProcessor) -> None:
    """Send every span to `processor` too; spans are recorded from now on, with database and
    HTTP client spans (asyncpg, httpx), as with an exporter. Needs `configure_tracing` first."""
    global _recording
    if _provider is None:
        raise RuntimeError("configure_tracing first: there is no SoleFlip tracer provider")
    _provider.add_span_processor(processor)
    _recording = True
    _instrument_libraries(_provider)


def _instrument_libraries(provider: TracerProvider) -> None:
    """Client spans for every asyncpg query and every httpx request (StockX calls, webhooks)."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    asyncpg = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]  # untyped constructor
    for instrumentor in (asyncpg, HTTPXClientInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)


def tracer_provider() -> TracerProvider | None:
    """The SDK provider installed by `configure_tracing`, if any (tests add processors to it)."""
    return _provider


def _exporter_from_env(env: Mapping[str, str]) -> tuple[SpanExporter | None, str]:
    kind = env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if kind in ("none", ""):
        return None, "none"
    if kind == "console":
        return ConsoleSpanExporter(), "console"
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    endpoint = _traces_endpoint(env, signal_path=protocol != "grpc")
    if not endpoint:
        return None, "none (no OTEL_EXPORTER_OTLP_ENDPOINT)"
    module_name = _OTLP_EXPORTERS.get(protocol)
    if module_name is None:
        return None, f"none (unsupported OTLP protocol {protocol!r})"
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None, f"none (no exporter package for OTLP {protocol})"
    # Headers, timeout, compression and certificates: the exporter reads its own OTEL_* variables.
    exporter: SpanExporter = module.OTLPSpanExporter(endpoint=endpoint)
    return exporter, f"otlp ({protocol}) to {endpoint}"


def _traces_endpoint(env: Mapping[str, str], *, signal_path: bool) -> str | None:
    """The traces URL: the signal's own variable as is, else the base (plus `/v1/traces` for
    OTLP/HTTP; gRPC takes the collector's address alone), as the OTLP exporter spec says."""
    signal = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if signal:
        return signal
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not base:
        return None
    return f"{base.rstrip('/')}/v1/traces" if signal_path else base


def inject_headers(headers: dict[str, str], context: Context | None = None) -> dict[str, str]:
    """Add `traceparent`/`tracestate` (and baggage) of the current span to `headers`; returns it."""
    propagate.inject(headers, context=context)
    return headers


def extract_context(headers: Mapping[str, Any] | Iterable[tuple[Any, Any]] | None) -> Context:
    """The trace context carried by `headers`: a mapping, or ASGI/NATS-style (name, value) pairs."""
    carrier: dict[str, str] = {}
    if headers is not None:
        items = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in items:
            key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            carrier[key.lower()] = text
    return propagate.extract(carrier)


def current_trace_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) in W3C hex of the current span, or None outside a recorded span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
