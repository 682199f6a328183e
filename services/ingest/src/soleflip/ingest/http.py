"""The webhook edge: `POST /webhooks/{source}` as a raw ASGI endpoint mounted inside Litestar.

A Litestar route handler costs about four times what the whole ingest work costs (request
object, signature model, response object); this endpoint reads the scope, the body and the
headers it needs directly and writes its answers itself, in the same problem+json shape as every
other route. Checks run cheapest first: source, method, rate limit, credential headers, content
type, body size (while reading), signature, parsing, data schema; then publish and answer.

Answers (documented in OpenAPI by `openapi.py`): 202 `{"id", "duplicate": false}` once JetStream
acknowledged the event, 200 with `"duplicate": true` for a repeat; a list answers
`{"ids": [...], "duplicates": [...]}` with 202 if any event was new, else 200.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from litestar.types import Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from soleflip.common.errors import (
    NotFound,
    RateLimited,
    SoleflipError,
    Unauthorized,
    Unavailable,
)
from soleflip.common.observability import extract_context, get_logger, recording
from soleflip.common.outages import is_outage
from soleflip.ingest._request import (
    Disconnected,
    RequestHeaders,
    check_content_type,
    loggable,
    read_body,
    structured_body,
    trace_context,
)
from soleflip.ingest.domain import (
    Event,
    TokenBucket,
    Verifier,
    check_bearer,
    check_webhook_id,
    parse_events,
    retry_after,
)
from soleflip.ingest.handlers import EventSink
from soleflip.ingest.metrics import SourceMetrics

_log = get_logger("soleflip.ingest")
_tracer = trace.get_tracer("soleflip.ingest")
_encode = msgspec.json.encode
_JSON = [(b"content-type", b"application/json")]
_PROBLEM_JSON = (b"content-type", b"application/problem+json")
_RETRY = {"Retry-After": "5"}


class MethodNotAllowed(SoleflipError):
    """Only POST is accepted on a webhook route (405)."""

    status = 405
    title = "Method not allowed"


class InternalError(SoleflipError):
    """A bug or an unmapped failure inside the endpoint (500, no internals in the answer)."""

    status = 500
    title = "Internal Server Error"


class SourcePolicy:
    """How one sender is authenticated and limited: secrets, bearer tokens, a rate bucket."""

    __slots__ = ("bucket", "metrics", "name", "tokens", "verifier")

    def __init__(
        self, name: str, *, secrets: tuple[str, ...], tokens: tuple[str, ...], rate_per_s: float
    ) -> None:
        self.name = name
        self.verifier = Verifier(secrets)
        self.tokens = tuple(token.encode() for token in tokens)
        self.bucket = TokenBucket(rate_per_s)
        self.metrics = SourceMetrics(name)


class _NotConnected:
    """The sink until the lifespan has connected to NATS."""

    async def publish(self, events: Sequence[Event], trace: Mapping[str, str]) -> list[bool]:
        raise Unavailable("not connected to NATS yet", headers={"Retry-After": "2"})


class WebhookEndpoint:
    """The ASGI callable behind `POST /webhooks/{source}`; `bind` it to a sink."""

    def __init__(
        self,
        sources: Mapping[str, SourcePolicy],
        *,
        max_body_bytes: int,
        sink: EventSink | None = None,
        clock: Any = time.time,
    ) -> None:
        self._sources = dict(sources)
        self._sink: EventSink = sink or _NotConnected()
        self._cap = max_body_bytes
        self._clock = clock

    def bind(self, sink: EventSink | None) -> None:
        """Publish through `sink` from now on (None: answer 503 until bound again)."""
        self._sink = sink or _NotConnected()

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        if not recording():
            await self._handle(scope, receive, send)
            return
        # Ingest's own SERVER span, the parent of what it publishes; made only while spans are
        # recorded (an SDK span costs more than verifying a webhook), else the caller's
        # traceparent is passed on as it came (`trace_context`).
        with _tracer.start_as_current_span(
            f"POST {scope['path']}",
            context=extract_context(scope["headers"]),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": scope["method"], "http.route": scope["path"]},
        ) as span:
            status = await self._handle(scope, receive, send)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(StatusCode.ERROR)

    async def _handle(self, scope: Any, receive: Receive, send: Send) -> int:
        """Answer one request; returns the status sent (499: the client went away)."""
        started = time.perf_counter()
        source = scope["path"].rpartition("/")[2]
        policy = self._sources.get(source)
        headers: RequestHeaders | None = None
        try:
            if policy is None:
                known = ", ".join(sorted(self._sources))
                raise NotFound(f"no webhook source {source!r}; known sources: {known}")
            policy.metrics.received.inc()
            if scope["method"] != "POST":
                raise MethodNotAllowed(f"{scope['method']} is not allowed; use POST")
            headers = RequestHeaders(scope["headers"])
            status, body = await self._accept(policy, headers, receive)
        except SoleflipError as exc:
            await self._reject(scope, send, policy, headers, exc, started)
            return exc.status
        except Disconnected:
            _reject_metrics(policy, 499, started)
            return 499
        except Exception as exc:  # answered here: the endpoint runs outside Litestar's handlers
            error = _unexpected(exc, scope)
            await self._reject(scope, send, policy, headers, error, started)
            return error.status
        await _send(send, status, body, _JSON)
        if policy is not None:
            policy.metrics.latency[status].observe(time.perf_counter() - started)
        return status

    async def _accept(
        self, policy: SourcePolicy, h: RequestHeaders, receive: Receive
    ) -> tuple[int, bytes]:
        self._limit(policy)
        signed = _authenticate_headers(policy, h)
        check_content_type(h.content_type)
        body = await read_body(receive, self._cap, h.content_length)
        if signed:
            # The header step made sure all three are present.
            webhook_id, timestamp, signature = (
                h.webhook_id or "",
                h.timestamp or "",
                h.signature or "",
            )
            policy.verifier.verify(webhook_id, timestamp, signature, body, self._clock())
        events, is_list = parse_events(structured_body(h, body), h.webhook_id, policy.name)
        duplicates = await self._sink.publish(events, trace_context(h))
        m = policy.metrics
        for duplicate in duplicates:
            (m.duplicates if duplicate else m.accepted).inc()
        return _answer(events, duplicates, is_list)

    def _limit(self, policy: SourcePolicy) -> None:
        try:
            wait = policy.bucket.take(time.monotonic())
        except Exception as exc:  # fail open: a broken limiter must not lose events
            _log.error("webhook rate limiter failed; letting the request through", error=repr(exc))
            return
        if wait > 0.0:
            raise RateLimited(
                f"more than {policy.bucket.rate:g} requests/s from {policy.name}; retry later",
                headers={"Retry-After": retry_after(wait)},
            )

    async def _reject(
        self,
        scope: Scope,
        send: Send,
        policy: SourcePolicy | None,
        headers: RequestHeaders | None,
        exc: SoleflipError,
        started: float,
    ) -> None:
        _log.log(
            30 if exc.status >= 500 else 20,
            "webhook rejected",
            source=policy.name if policy else None,
            reason=type(exc).__name__,
            status=exc.status,
            detail=exc.detail,
            webhook_id=loggable(headers.webhook_id if headers else None),
        )
        body = _problem(exc, scope.get("path", ""))
        extra = [(k.lower().encode(), v.encode("latin-1")) for k, v in exc.headers.items()]
        if isinstance(exc, MethodNotAllowed):
            extra.append((b"allow", b"POST"))
        await _send(send, exc.status, body, [_PROBLEM_JSON, *extra])
        _reject_metrics(policy, exc.status, started)


def _unexpected(exc: Exception, scope: Scope) -> SoleflipError:
    """What the shared handlers answer for a failure no check raised: 503 with `Retry-After`
    for a connection-level outage, else 500 with the stack trace logged, not sent."""
    if is_outage(exc):
        return Unavailable("a dependency of ingest is unavailable; retry later", headers=_RETRY)
    _log.error("unhandled exception", exc_info=exc, path=scope.get("path", ""))
    return InternalError("an unexpected error occurred; it was logged")


def _reject_metrics(policy: SourcePolicy | None, status: int, started: float) -> None:
    if policy is not None:
        policy.metrics.rejected(status, time.perf_counter() - started)


def _authenticate_headers(policy: SourcePolicy, h: RequestHeaders) -> bool:
    """Check what can be checked before the body; True when the signature must be verified.

    A source with tokens (n8n) accepts either a valid bearer token or a valid signature. Each
    credential that is presented must be valid (fail closed): a valid token does not excuse a
    wrong or stale signature sent with it, nor a signature a wrong token.
    """
    by_token = bool(policy.tokens) and h.authorization is not None
    if by_token:
        check_bearer(h.authorization or "", policy.tokens)
    signature_presented = h.signature is not None or h.timestamp is not None
    if not by_token or signature_presented:
        missing = [
            name
            for name, value in (
                ("webhook-id", h.webhook_id),
                ("webhook-timestamp", h.timestamp),
                ("webhook-signature", h.signature),
            )
            if not value
        ]
        if missing:
            also = " (or Authorization: Bearer <token>)" if policy.tokens else ""
            raise Unauthorized(f"missing {', '.join(missing)}{also}")
    if h.webhook_id is not None:
        check_webhook_id(h.webhook_id)
    return not by_token or signature_presented


def _answer(events: list[Event], duplicates: list[bool], is_list: bool) -> tuple[int, bytes]:
    if not is_list:
        duplicate = duplicates[0]
        return (200 if duplicate else 202), _encode({"id": events[0].id, "duplicate": duplicate})
    status = 200 if all(duplicates) else 202
    return status, _encode({"ids": [e.id for e in events], "duplicates": duplicates})


def _problem(exc: SoleflipError, path: str) -> bytes:
    kind = re.sub(r"(?<!^)(?=[A-Z])", "-", type(exc).__name__).lower()
    body: dict[str, Any] = {
        "type": f"urn:soleflip:problem:{kind}",
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
        "instance": path,
    }
    if exc.errors:
        body["errors"] = exc.errors
    return _encode(body)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
