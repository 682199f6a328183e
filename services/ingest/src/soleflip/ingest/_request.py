"""Reading a webhook request cheaply: the headers ingest needs, the body under a cap, trace context.

Private to `soleflip.ingest.http`; split out to keep each module short.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import unquote

import msgspec
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
#: More `ce-*` headers than this is not an event, it is an attempt to make us build a big one.
_MAX_CE_HEADERS = 32
# CloudEvents attribute names: lower-case ASCII letters and digits; `data` is not an attribute.
_ATTRIBUTE = re.compile(r"[a-z0-9]{1,20}")


class Disconnected(Exception):
    """The client went away before its body arrived; nobody is left to answer."""


class RequestHeaders:
    """The request headers ingest reads (latin-1 decoded, as HTTP defines them)."""

    __slots__ = (*_WANTED.values(), "ce")

    def __init__(self, raw: Any) -> None:
        for slot in _WANTED.values():
            setattr(self, slot, None)
        #: CloudEvents binary-mode attributes (`ce-<name>` headers), name without the prefix.
        self.ce: dict[str, str] = {}
        for name, value in raw:
            attr = _WANTED.get(name)
            if attr is not None:
                setattr(self, attr, value.decode("latin-1"))
            elif name.startswith(b"ce-"):
                self.ce[name[3:].decode("latin-1")] = value.decode("latin-1")

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


def structured_body(h: RequestHeaders, body: bytes) -> bytes:
    """The request as a structured-mode event: the body itself, or for CloudEvents binary mode
    (a `ce-specversion` header and a body that is only the data) an envelope built from the
    `ce-*` headers with the body as `data`, so both modes are answered alike.

    The body is spliced in unchanged, so `data` keeps the sender's bytes, as in structured mode.
    """
    media = (h.content_type or "").partition(";")[0].strip().lower()
    if "specversion" not in h.ce or media.startswith("application/cloudevents"):
        return body
    if len(h.ce) > _MAX_CE_HEADERS:
        raise BadRequest(f"more than {_MAX_CE_HEADERS} ce-* headers")
    try:
        msgspec.json.decode(body, type=msgspec.Raw)  # one JSON value: nothing may follow it
    except msgspec.DecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("body is nested too deeply") from None
    members = [b'"datacontenttype":' + msgspec.json.encode(media)]
    for name, value in h.ce.items():
        if not _ATTRIBUTE.fullmatch(name) or name in ("data", "datacontenttype"):
            raise BadRequest(f"ce-{name} is not a CloudEvents attribute header")
        try:
            decoded = unquote(value, errors="strict")  # the HTTP binding percent-encodes values
        except UnicodeDecodeError:
            raise BadRequest(f"ce-{name} is not percent-encoded UTF-8") from None
        members.append(msgspec.json.encode(name) + b":" + msgspec.json.encode(decoded))
    return b"{" + b",".join(members) + b',"data":' + body + b"}"


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
