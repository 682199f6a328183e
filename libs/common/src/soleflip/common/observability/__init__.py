"""Observability in one call: structured logs with redaction, OpenTelemetry traces, metrics.

`configure_observability(service, settings)` is called once by each composition root (a second
call reconfigures logging and is otherwise harmless). Logs are JSON (or console) lines on stdout
carrying the bound context and the current trace/span ids; traces use W3C trace context.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from soleflip.common.observability._logging import REDACTOR, configure_logging, get_logger
from soleflip.common.observability._metrics import (
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS_IN_PROGRESS,
    MetricsPayload,
    metrics_response,
)
from soleflip.common.observability._redact import MASK, Redactor, is_secret_key
from soleflip.common.observability._tracing import (
    add_span_processor,
    configure_tracing,
    current_trace_ids,
    extract_context,
    inject_headers,
    recording,
    tracer_provider,
)
from soleflip.common.settings import Settings

__all__ = [
    "HTTP_REQUESTS_IN_PROGRESS",
    "HTTP_REQUEST_DURATION",
    "MASK",
    "MetricsPayload",
    "Redactor",
    "add_span_processor",
    "configure_observability",
    "configure_tracing",
    "current_trace_ids",
    "extract_context",
    "get_logger",
    "inject_headers",
    "is_secret_key",
    "metrics_response",
    "recording",
    "redact",
    "tracer_provider",
]


def configure_observability(
    service: str,
    settings: Settings,
    *,
    env: Mapping[str, str] | None = None,
    logs_to_stderr: bool = False,
) -> None:
    """Set up logging, tracing and metrics for `service`; idempotent.

    `env` holds the standard `OTEL_*` variables (the process environment by default): they are
    OpenTelemetry's own contract, read here exactly as the OpenTelemetry SDK reads them.
    """
    configure_logging(
        service,
        level=settings.log_level,
        log_format=settings.log_format,
        secrets=settings.secret_values(),
        to_stderr=logs_to_stderr,
    )
    exporter = configure_tracing(service, os.environ if env is None else env)
    get_logger("soleflip.observability").debug(
        "observability configured", log_format=settings.log_format, trace_exporter=exporter
    )


def redact(value: object) -> object:
    """`value` with configured secrets and secret-looking keys masked (for error bodies, dumps)."""
    return REDACTOR.redact(value)
