"""Reading a webhook request cheaply: the headers ingest needs, the body under a cap, trace context.

Private to `soleflip.ingest.http`; split out to keep each module short.
"""

from __future__ import annotations

import os
import re
from typing import Any

from litestar.types import Receive
from opentelemetry import trace

from soleflip.common.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from soleflip.common.observability import inject_headers

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


class Disconnected(Exception):
    """The client went away before its body arrived; nobody is left to answer."""


class RequestHeaders:
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


def check_content_type(content_type: str | None) -> None:
    """JSON only: `application/json` or any `application/*+json` (CloudEvents' own types)."""
    media = (content_type or "").partition(";")[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    shown = f"{media!r}" if media else "missing"
    raise UnsupportedMediaType(f"content-type is {shown}; send application/json")


async def read_body(receive: Receive, cap: int, content_length: str | None) -> bytes:
    """The whole body, refusing (413) as soon as more than `cap` bytes are announced or read."""
    if content_length is not None:
        if not (content_length.isascii() and content_length.isdigit()):
            raise BadRequest("content-length is not a number")
        if int(content_length) > cap:
            raise PayloadTooLarge(f"body of {content_length} bytes exceeds the cap of {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Any = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"body exceeds the cap of {cap} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def trace_context(h: RequestHeaders) -> dict[str, str]:
    """W3C trace context for the published messages.

    Inside a recorded server span (the shared telemetry middleware) that span is the parent;
    otherwise the caller's `traceparent` is passed on, or a new trace is started, so every
    message can be followed from ingest to its consumers.
    """
    if trace.get_current_span().get_span_context().is_valid:
        return inject_headers({})
    if h.traceparent is not None and _TRACEPARENT.fullmatch(h.traceparent):
        context = {"traceparent": h.traceparent}
        state = h.tracestate
        if state and len(state) <= 512 and state.isascii() and state.isprintable():
            context["tracestate"] = state
        return context
    ids = os.urandom(24).hex()
    return {"traceparent": f"00-{ids[:32]}-{ids[32:]}-01"}


def loggable(webhook_id: str | None) -> str | None:
    # A webhook-id is sender-chosen text: bounded and printable before it reaches a log line.
    if webhook_id is None:
        return None
    return webhook_id[:256] if webhook_id.isprintable() else repr(webhook_id[:256])
