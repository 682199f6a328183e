"""The outermost ASGI layer of every app: request id, log context, server span, metrics, access log.

It wraps Litestar's exception handling (not just the routes), so unknown routes, 405s and errors
raised before routing are logged, measured and traced like any other request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any, TypeAlias, cast

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from soleflip.common.observability import (
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS_IN_PROGRESS,
    extract_context,
    get_logger,
)

_log = get_logger("soleflip.http.access")
_tracer = trace.get_tracer("soleflip.http")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Probes and scrapes arrive every few seconds; they are logged at debug unless they fail.
_QUIET_PREFIXES = ("/health/", "/metrics")
UNMATCHED_ROUTE = "<unmatched>"
# Litestar's Scope is a union of TypedDicts; this layer only reads plain ASGI keys.
RawScope: TypeAlias = MutableMapping[str, Any]


def request_id_from(scope: RawScope) -> str:
    """The caller's `x-request-id` when it is a sane token, else a fresh one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = bytes(value).decode("latin-1")
            if _REQUEST_ID.fullmatch(candidate):
                return candidate
    return uuid.uuid4().hex


class TelemetryMiddleware:
    """Binds the log context, continues the caller's trace, and records one metric per request."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = cast("RawScope", scope)
        if raw["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(raw)
        saved = structlog.contextvars.get_contextvars()
        structlog.contextvars.bind_contextvars(
            service=self.service, request_id=request_id, http_method=raw["method"]
        )
        try:
            await self._traced(raw, receive, send, request_id)
        finally:
            # Restore exactly what was bound before: guards bind `principal` mid-request.
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(**saved)

    async def _traced(self, scope: RawScope, receive: Receive, send: Send, request_id: str) -> None:
        method = scope["method"]
        state: dict[str, Any] = {"status": 500}

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = list(message.get("headers") or ())
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        parent = extract_context(scope.get("headers"))
        start = time.perf_counter()
        HTTP_REQUESTS_IN_PROGRESS.labels(self.service).inc()
        with _tracer.start_as_current_span(
            method, context=parent, kind=SpanKind.SERVER, attributes=_span_attributes(scope)
        ) as span:
            try:
                await self.app(cast("Scope", scope), receive, send_with_request_id)
            finally:
                duration = time.perf_counter() - start
                HTTP_REQUESTS_IN_PROGRESS.labels(self.service).dec()
                route = _route(scope)
                self._finish(span, scope, route, state["status"], duration)

    def _finish(
        self, span: trace.Span, scope: RawScope, route: str, status: int, duration: float
    ) -> None:
        method = scope["method"]
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        HTTP_REQUEST_DURATION.labels(self.service, route, method, str(status)).observe(duration)
        path = scope.get("path", "")
        quiet = status < 400 and path.startswith(_QUIET_PREFIXES)
        level = logging.DEBUG if quiet else logging.WARNING if status >= 500 else logging.INFO
        _log.log(
            level,
            "http request",
            path=path,
            route=route,
            status=status,
            duration_ms=round(duration * 1000, 2),
        )


def _route(scope: RawScope) -> str:
    # Only templates go into labels and span names: raw paths would explode cardinality.
    template = scope.get("path_template")
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE


def _span_attributes(scope: RawScope) -> dict[str, str]:
    return {
        "http.request.method": scope["method"],
        "url.path": scope.get("path", ""),
        "url.scheme": scope.get("scheme", "http"),
    }
