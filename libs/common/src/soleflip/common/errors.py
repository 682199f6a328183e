"""One error hierarchy, mapped once to problem+json at the HTTP edge and to ack/nak/term on NATS."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar


class SoleflipError(Exception):
    """Base of every expected error. `status` is the HTTP status the edge answers with."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    #: transient errors are retried (HTTP 503 / NATS NAK with delay); others are final.
    transient: ClassVar[bool] = False

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[dict[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})


class InvalidInput(SoleflipError):
    """The request or message is well-formed but its content is wrong (422)."""

    status = 422
    title = "Invalid input"


class BadRequest(SoleflipError):
    """The request cannot be parsed at all (400)."""

    status = 400
    title = "Bad request"


class Unauthorized(SoleflipError):
    """Missing or invalid credentials (401)."""

    status = 401
    title = "Unauthorized"


class Forbidden(SoleflipError):
    """Valid credentials without the needed scope (403)."""

    status = 403
    title = "Forbidden"


class NotFound(SoleflipError):
    """The resource does not exist (404)."""

    status = 404
    title = "Not found"


class Conflict(SoleflipError):
    """The request conflicts with the current state (409)."""

    status = 409
    title = "Conflict"


class PayloadTooLarge(SoleflipError):
    """The body exceeds the configured cap (413)."""

    status = 413
    title = "Payload too large"


class UnsupportedMediaType(SoleflipError):
    """The body is not of an accepted content type (415)."""

    status = 415
    title = "Unsupported media type"


class RateLimited(SoleflipError):
    """Too many requests; `headers` carries Retry-After (429)."""

    status = 429
    title = "Too many requests"
    transient = True


class Unavailable(SoleflipError):
    """A dependency (NATS, Postgres, StockX) is down; retry later (503)."""

    status = 503
    title = "Service unavailable"
    transient = True
