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

import os
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from litestar.types import Receive, Scope, Send
from opentelemetry import trace

from soleflip.common.errors import (
    BadRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    SoleflipError,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)
from soleflip.common.observability import get_logger, inject_headers
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
_encode = msgspec.json.encode
_JSON = [(b"content-type", b"application/json")]
_PROBLEM_JSON = (b"content-type", b"application/problem+json")
_TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
# Request headers the endpoint reads, and the attribute each lands in.
_WANTED = {
    b"content-type": "content_type",
    b"content-length": "content_length",
    b"webhook-id": "webhook_id",
    b"webhook-timestamp": "timestamp",
    b"webhook-signature": "signature",
    b"authorization": "authorization",
    b"traceparent": "traceparent",
    b"tracestate": "tracestate",
}


class MethodNotAllowed(SoleflipError):
    """Only POST is accepted on a webhook route (405)."""

    status = 405
    title = "Method not allowed"


class _Disconnected(Exception):
    """The client went away before its body arrived; nobody is left to answer."""


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


class _Headers:
    """The request headers ingest reads (latin-1 decoded, as HTTP defines them)."""

    __slots__ = tuple(_WANTED.values())

    def __init__(self, raw: Any) -> None:
        for slot in self.__slots__:
            setattr(self, slot, None)
        for name, value in raw:
            attr = _WANTED.get(name)
            if attr is not None:
                setattr(self, attr, value.decode("latin-1"))

    content_type: str | None
    content_length: str | None
    webhook_id: str | None
    timestamp: str | None
    signature: str | None
    authorization: str | None
    traceparent: str | None
    tracestate: str | None


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
        started = time.perf_counter()
        source = scope["path"].rpartition("/")[2]
        policy = self._sources.get(source)
        headers: _Headers | None = None
        try:
            if policy is None:
                known = ", ".join(sorted(self._sources))
                raise NotFound(f"no webhook source {source!r}; known sources: {known}")
            policy.metrics.received.inc()
            if scope["method"] != "POST":
                raise MethodNotAllowed(f"{scope['method']} is not allowed; use POST")
            headers = _Headers(scope["headers"])
            status, body = await self._accept(policy, headers, receive)
        except SoleflipError as exc:
            await self._reject(scope, send, policy, headers, exc, started)
            return
        except _Disconnected:
            _reject_metrics(policy, 499, started)
            return
        await _send(send, status, body, _JSON)
        if policy is not None:
            policy.metrics.latency[status].observe(time.perf_counter() - started)

    async def _accept(
        self, policy: SourcePolicy, h: _Headers, receive: Receive
    ) -> tuple[int, bytes]:
        self._limit(policy)
        by_token = _authenticate_headers(policy, h)
        _check_content_type(h.content_type)
        body = await _read_body(receive, self._cap, h.content_length)
        if not by_token:
            # The header step made sure all three are present.
            webhook_id, timestamp, signature = (
                h.webhook_id or "",
                h.timestamp or "",
                h.signature or "",
            )
            policy.verifier.verify(webhook_id, timestamp, signature, body, self._clock())
        events, is_list = parse_events(body, h.webhook_id, policy.name)
        duplicates = await self._sink.publish(events, _trace(h))
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
        headers: _Headers | None,
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
            webhook_id=_loggable(headers.webhook_id if headers else None),
        )
        body = _problem(exc, scope.get("path", ""))
        extra = [(k.lower().encode(), v.encode("latin-1")) for k, v in exc.headers.items()]
        if isinstance(exc, MethodNotAllowed):
            extra.append((b"allow", b"POST"))
        await _send(send, exc.status, body, [_PROBLEM_JSON, *extra])
        _reject_metrics(policy, exc.status, started)


def _reject_metrics(policy: SourcePolicy | None, status: int, started: float) -> None:
    if policy is not None:
        policy.metrics.rejected(status, time.perf_counter() - started)


def _authenticate_headers(policy: SourcePolicy, h: _Headers) -> bool:
    """Check what can be checked before the body; True when a bearer token authenticated.

    A source with tokens (n8n) accepts either a valid bearer token or a valid signature; a
    presented token must be valid even when a signature is also sent (fail closed).
    """
    if policy.tokens and h.authorization is not None:
        check_bearer(h.authorization, policy.tokens)
    else:
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
    return policy.tokens != () and h.authorization is not None


def _check_content_type(content_type: str | None) -> None:
    """JSON only: `application/json` or any `application/*+json` (CloudEvents' own types)."""
    media = (content_type or "").partition(";")[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    shown = f"{media!r}" if media else "missing"
    raise UnsupportedMediaType(f"content-type is {shown}; send application/json")


async def _read_body(receive: Receive, cap: int, content_length: str | None) -> bytes:
    """The whole body, refusing (413) as soon as more than `cap` bytes are announced or read."""
    if content_length is not None:
        if not content_length.isdigit():
            raise BadRequest("content-length is not a number")
        if int(content_length) > cap:
            raise PayloadTooLarge(f"body of {content_length} bytes exceeds the cap of {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Any = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"body exceeds the cap of {cap} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _trace(h: _Headers) -> dict[str, str]:
    """W3C trace context for the published messages.

    Inside a recorded server span (the shared telemetry middleware) that span is the parent;
    otherwise the caller's `traceparent` is passed on, or a new trace is started, so every
    message can be followed from ingest to its consumers.
    """
    if trace.get_current_span().get_span_context().is_valid:
        return inject_headers({})
    if h.traceparent is not None and _TRACEPARENT.fullmatch(h.traceparent):
        context = {"traceparent": h.traceparent}
        if h.tracestate and len(h.tracestate) <= 512 and h.tracestate.isprintable():
            context["tracestate"] = h.tracestate
        return context
    ids = os.urandom(24).hex()
    return {"traceparent": f"00-{ids[:32]}-{ids[32:]}-01"}


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


def _loggable(webhook_id: str | None) -> str | None:
    # A webhook-id is sender-chosen text: bounded and printable before it reaches a log line.
    if webhook_id is None:
        return None
    return webhook_id[:256] if webhook_id.isprintable() else repr(webhook_id[:256])


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
