"""Typed StockX errors, each a subclass of the project's error hierarchy, and tolerant parsing.

StockX documents `{statusCode, message}`, but clients in the wild read `errorMessage`, `error` and
plain text, and gateways in front of it answer with HTML pages. Whatever the body, a failed call
raises one of these classes, and a body that is not JSON never reaches a caller as data.
"""

from __future__ import annotations

import json
import re

from soleflip.common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    SoleflipError,
    Unauthorized,
    Unavailable,
)

_MAX_MESSAGE = 500


class StockXError(SoleflipError):
    """Base of every StockX failure; `status_code` is StockX's HTTP status (0 without one)."""

    def __init__(
        self,
        detail: str,
        *,
        status_code: int = 0,
        endpoint: str = "",
        retry_after: float | None = None,
    ) -> None:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after else None
        super().__init__(detail, headers=headers)
        self.status_code = status_code
        self.endpoint = endpoint
        self.retry_after = retry_after


class StockXBadRequest(StockXError, InvalidInput):
    """StockX rejected the input (400/422), e.g. a variant that is not in the product."""


class StockXUnauthorized(StockXError, Unauthorized):
    """StockX refused the access token or API key even after one forced token refresh."""


class StockXForbidden(StockXError, Forbidden):
    """StockX refused access (403), e.g. an unknown API key or an unapproved beta endpoint."""


class StockXNotFound(StockXError, NotFound):
    """The StockX resource does not exist (404); product ids can go stale."""


class StockXConflict(StockXError, Conflict):
    """StockX refused a write that conflicts with the listing's state (409)."""


class StockXRateLimited(StockXError, RateLimited):
    """StockX answered 429 and the retries (or the call deadline) ran out."""


class StockXServerError(StockXError, Unavailable):
    """StockX failed (5xx) and the bounded retries ran out."""


class StockXTransportError(StockXError, Unavailable):
    """No answer from StockX: connection failure or timeout."""


class StockXUnexpectedResponse(StockXError, Unavailable):
    """StockX (or a gateway before it) answered with a body that is not the documented JSON."""


class StockXCircuitOpen(StockXError, Unavailable):
    """This client saw sustained failures and fails fast until a probe succeeds."""


class StockXBudgetExhausted(StockXError, RateLimited):
    """The shared daily request budget for this priority is spent until 00:00 UTC."""


class StockXBudgetTimeout(StockXError, RateLimited):
    """No request slot in the shared per-second budget before the call's deadline."""


class StockXAuthError(StockXError, Unauthorized):
    """The refresh token (or client credentials) is dead; a person must re-authorize."""


class StockXPollTimeout(StockXError, Unavailable):
    """An operation or batch was still not final when `await_*` reached its timeout."""


#: Failures that speak about the one resource asked for, not about StockX as a whole: it is
#: gone or refused (404, 4xx), or answered 5xx or an undecodable body for it after the client's
#: retries while other calls went through (a whole outage opens the circuit and shows as
#: `StockXCircuitOpen`, `StockXTransportError` or a budget/rate limit error instead).
_ITEM_FAILURES = (
    StockXNotFound,
    StockXBadRequest,
    StockXConflict,
    StockXServerError,
    StockXUnexpectedResponse,
)


def is_item_failure(error: StockXError) -> bool:
    """Whether a poller should count `error` against the item and go on with the others (True),
    or stop the round and wait for StockX (False: outage, rate limit, budget, credentials)."""
    return isinstance(error, _ITEM_FAILURES)


_BY_STATUS: dict[int, type[StockXError]] = {
    400: StockXBadRequest,
    401: StockXUnauthorized,
    403: StockXForbidden,
    404: StockXNotFound,
    409: StockXConflict,
    410: StockXNotFound,
    422: StockXBadRequest,
    429: StockXRateLimited,
}


def error_class(status: int) -> type[StockXError]:
    """The error class for a failed HTTP status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return StockXServerError
    return StockXBadRequest if 400 <= status < 500 else StockXUnexpectedResponse


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<?xml"))


def _from_json(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, list):
        parts = [m for m in (_from_json(v) for v in value) if m]
        return "; ".join(parts) or None
    if not isinstance(value, dict):
        return None
    for key in ("message", "errorMessage", "error_description", "error", "detail", "title"):
        found = _from_json(value.get(key))
        if found:
            return found
    return None


def _from_html(text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    label = " ".join(title.group(1).split()) if title else ""
    return f"HTML page instead of JSON: {label}" if label else "HTML page instead of JSON"


def error_message(body: bytes, content_type: str = "") -> str:
    """The human message of an error body: JSON keys in order `message`, `errorMessage`,
    `error_description`, `error`, `detail`; the `<title>` of an HTML page; else the text."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return "empty body"
    if looks_like_html(body) or "html" in content_type.lower():
        return _from_html(text)
    try:
        parsed = json.loads(text)
    except ValueError:
        return text[:_MAX_MESSAGE]
    return (_from_json(parsed) or text)[:_MAX_MESSAGE]


def error_for_response(
    status: int,
    body: bytes,
    content_type: str,
    *,
    endpoint: str,
    retry_after: float | None = None,
) -> StockXError:
    """The typed error for a failed response."""
    message = error_message(body, content_type)
    cls = error_class(status)
    return cls(
        f"StockX {status} on {endpoint}: {message}",
        status_code=status,
        endpoint=endpoint,
        retry_after=retry_after,
    )
