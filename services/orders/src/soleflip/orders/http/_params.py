"""Query parameters and cursors of the REST API: parsed here, rejected as problem+json."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec
from litestar import Request

from soleflip.common.errors import InvalidInput
from soleflip.common.http import current_principal

T = TypeVar("T")
MAX_LIMIT = 500
DEFAULT_LIMIT = 50


def bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"invalid {field}: {message}",
        errors=[{"field": field, "message": message, "source": "query"}],
    )


def limit_of(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def statuses_of(raw: str | None) -> list[str] | None:
    """`status=CREATED,SHIPPED`: upper-case words; unknown values are fine (kept verbatim)."""
    if raw is None:
        return None
    values = [part.strip() for part in raw.split(",")]
    if not values or any(not v or not v.replace("_", "").isalnum() for v in values):
        raise bad("status", "must be a comma-separated list of status names")
    return [v.upper() for v in values]


def time_of(field: str, raw: str | None) -> datetime | None:
    """RFC 3339 timestamp (or a bare date); naive values are refused, not guessed."""
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad(field, "must be an RFC 3339 timestamp, e.g. 2026-01-31T00:00:00Z") from None
    if value.tzinfo is None:
        if len(raw) == 10:  # a bare date means its UTC midnight
            return value.replace(tzinfo=UTC)
        raise bad(field, "needs a time zone (Z or +hh:mm)")
    return value


def window_of(from_: str | None, to: str | None, *, now: datetime) -> tuple[datetime, datetime]:
    """`from`/`to` (default: the 30 days up to `now`); `from` must be before `to`."""
    end = time_of("to", to) or now
    start = time_of("from", from_) or end - timedelta(days=30)
    if start >= end:
        raise InvalidInput("from must be before to")
    return start, end


def bool_of(field: str, raw: str | None) -> bool | None:
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise bad(field, "must be true or false")
    return raw.lower() == "true"


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(value)).decode().rstrip("=")


def decode_cursor(raw: str | None, kind: type[T]) -> T | None:
    """The value `encode_cursor` wrote; a tampered or foreign cursor is a 422, not a 500."""
    if raw is None:
        return None
    try:
        padded = raw + "=" * (-len(raw) % 4)
        return msgspec.json.decode(base64.urlsafe_b64decode(padded), type=kind)
    except (binascii.Error, ValueError, msgspec.MsgspecError):
        raise bad("cursor", "is not a cursor this API returned") from None


def actor_of(request: Request[Any, Any, Any]) -> str | None:
    """The name of the API token behind a request (kept in a stock unit's history)."""
    token = current_principal(request)
    return token.name if token is not None else None


def days_of(field: str, raw: str | None, *, most: int = 36_500) -> int | None:
    """A whole number of days from 0 to `most` (a century: no purchase is older)."""
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) > most:
        raise bad(field, f"must be a whole number of days from 0 to {most}")
    return int(raw)
