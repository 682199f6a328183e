"""The outermost ASGI layer of every app: request id, log context, server span, metrics, access log.

It wraps Litestar's exception handling (not just the routes), so unknown routes, 405s and errors
raised before routing are logged, measured and traced like any other request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
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
        # Routing rewrites scope["path"] for mounted apps: keep what the client asked for.
        exchange = _Exchange(method=scope["method"], path=scope.get("path", ""))

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                headers = list(message.get("headers") or ())
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        start = time.perf_counter()
        HTTP_REQUESTS_IN_PROGRESS.labels(self.service).inc()
        with self._span(scope, exchange) as span:
            try:
                await self.app(cast("Scope", scope), receive, send_with_request_id)
            finally:
                exchange.duration = time.perf_counter() - start
                HTTP_REQUESTS_IN_PROGRESS.labels(self.service).dec()
                exchange.route = _route(scope)
                self._finish(span, exchange)

    @contextmanager
    def _span(self, scope: RawScope, exchange: _Exchange) -> Iterator[trace.Span]:
        """The request's server span; none for probes and scrapes, whose traces (one every few
        seconds per replica, with a database span each) would bury the real ones."""
        if exchange.path.startswith(_QUIET_PREFIXES):
            with trace.use_span(trace.INVALID_SPAN), suppress_instrumentation():
                yield trace.INVALID_SPAN
            return
        parent = extract_context(scope.get("headers"))
        with _tracer.start_as_current_span(
            exchange.method, context=parent, kind=SpanKind.SERVER, attributes=exchange.attributes()
        ) as span:
            yield span

    def _finish(self, span: trace.Span, exchange: _Exchange) -> None:
        method, route, status = exchange.method, exchange.route, exchange.status
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        HTTP_REQUEST_DURATION.labels(self.service, route, method, str(status)).observe(
            exchange.duration
        )
        quiet = status < 400 and exchange.path.startswith(_QUIET_PREFIXES)
        level = logging.DEBUG if quiet else logging.WARNING if status >= 500 else logging.INFO
        _log.log(
            level,
            "http request",
            path=exchange.path,
            route=route,
            status=status,
            duration_ms=round(exchange.duration * 1000, 2),
        )


@dataclass(slots=True)
class _Exchange:
    """What one request/response pair is measured and logged by."""

    method: str
    path: str
    # 500 until a response starts: a request that dies before answering counts as a failure.
    status: int = 500
    route: str = UNMATCHED_ROUTE
    duration: float = 0.0

    def attributes(self) -> dict[str, str]:
        return {"http.request.method": self.method, "url.path": self.path}


def _route(scope: RawScope) -> str:
    # Only templates go into labels and span names: raw paths would explode cardinality.
    template = scope.get("path_template")
    if isinstance(template, str) and template:
        return template
    # Mounted ASGI apps have no template; their handler's mount path is the route.
    paths = getattr(scope.get("route_handler"), "paths", None)
    return min(paths) if paths else UNMATCHED_ROUTE
