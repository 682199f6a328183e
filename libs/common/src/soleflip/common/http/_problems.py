"""RFC 9457 problem+json: every error the HTTP edge answers with is built here.

`SoleflipError`s keep their status, title, detail, `errors[]` and headers and get a stable
`urn:soleflip:problem:<kind>` type; framework errors are `about:blank` with the status phrase;
a dependency that is down (`soleflip.common.outages`) is a 503 with `Retry-After`; anything
unexpected is a 500 without internals, logged once with its stack trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.types import ExceptionHandlersMap
from prometheus_client import Counter

from soleflip.common.errors import SoleflipError, Unavailable
from soleflip.common.observability import get_logger
from soleflip.common.outages import is_outage

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:soleflip:problem:"

_log = get_logger("soleflip.http")
_NAMED = re.compile(r"^([A-Za-z_][\w.]*) must ")
#: What a 503 answers when the error does not say (seconds; a restarting Postgres takes a few).
RETRY_AFTER_S = "5"
HTTP_OUTAGES = Counter(
    "soleflip_http_dependency_unavailable",
    "Requests answered 503 because a dependency (Postgres, NATS) was unreachable, by error.",
    ["error"],
)


class FieldError(msgspec.Struct, frozen=True, omit_defaults=True):
    """One entry of a problem's `errors[]`: which field, what is wrong, where it came from."""

    field: str
    message: str
    source: str | None = None


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    """The RFC 9457 body, for OpenAPI documentation (`problem_responses`)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI `responses=` entries documenting problem+json answers for `statuses`."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=_phrase(status),
            generate_examples=False,
        )
        for status in statuses
    }


_encoder = msgspec.json.Encoder(decimal_format="string")


def problem_type(error: type[SoleflipError]) -> str:
    """The stable type of an error class: `InvalidInput` -> `urn:soleflip:problem:invalid-input`."""
    return PROBLEM_TYPE_PREFIX + re.sub(r"(?<!^)(?=[A-Z])", "-", error.__name__).lower()


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_: str = "about:blank",
    instance: str | None = None,
    errors: Sequence[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response[bytes]:
    """A problem+json response; `extensions` adds members such as `checks` or `request_id`."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title or _phrase(status),
        "status": status,
        "detail": detail or _phrase(status),
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [dict(e) for e in errors]
    body.update(extensions or {})
    return Response(
        content=_encoder.encode(body),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def _note_error(name: str, detail: str) -> None:
    # Bound rather than logged: the access log line that follows carries it, one line per request.
    structlog.contextvars.bind_contextvars(error=name, error_detail=detail)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _instance(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("path", "")) or "/"


def handle_soleflip_error(request: Request[Any, Any, Any], exc: SoleflipError) -> Response[bytes]:
    """Expected errors: no stack trace; the request's access log line names the error."""
    _note_error(type(exc).__name__, exc.detail)
    headers = exc.headers
    if exc.status == 503 and "Retry-After" not in headers:
        headers = {**headers, "Retry-After": RETRY_AFTER_S}  # every outage says when to retry
    return problem_response(
        exc.status,
        title=exc.title,
        detail=exc.detail,
        type_=problem_type(type(exc)),
        instance=_instance(request),
        errors=exc.errors,
        headers=headers,
    )


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """Litestar's own errors (routing, body parsing, size caps, guards) as problems."""
    if isinstance(exc, ValidationException):
        return _validation_problem(request, exc)
    status = exc.status_code
    if status >= 500:
        return handle_unexpected(request, exc)
    _note_error(type(exc).__name__, exc.detail)
    detail = exc.detail if exc.detail and exc.detail != _phrase(status) else None
    return problem_response(
        status,
        detail=detail or _default_detail(request, status),
        instance=_instance(request),
        headers=exc.headers,
    )


def _default_detail(request: Request[Any, Any, Any], status: int) -> str:
    if status == 404:
        return f"No resource at {_instance(request)}"
    if status == 405:
        return f"Method {request.method} is not allowed on {_instance(request)}"
    return _phrase(status)


def _validation_problem(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[bytes]:
    errors = _field_errors(exc.extra)
    _note_error(type(exc).__name__, _strip_query(exc.detail))
    # The body parsed but its content is wrong: 422, as the contract says; bad query or path
    # parameters and unparsable bodies stay 400.
    status = 422 if any(e.get("source") == "body" for e in errors) else 400
    detail = "Request validation failed" if errors else _strip_query(exc.detail)
    return problem_response(
        status,
        title=_phrase(status),
        detail=detail,
        instance=_instance(request),
        errors=errors,
        headers=exc.headers,
    )


def _field_errors(extra: Any) -> list[dict[str, str]]:
    if not isinstance(extra, list):
        return []
    errors = []
    for item in extra:
        if not isinstance(item, Mapping):
            continue
        source = item.get("source")
        field, message = str(item.get("key") or ""), str(item.get("message", ""))
        # A struct's own check (`Money`: "amount must ...") names a field inside `key`.
        named = _NAMED.match(message)
        if named and field:
            field = f"{field}.{named.group(1)}"
        entry = {"field": field, "message": message}
        if source is not None:
            entry["source"] = str(getattr(source, "value", source))
        errors.append(entry)
    return errors


def _strip_query(detail: str) -> str:
    # Litestar's messages echo the raw URL; a query string may carry things we never echo.
    return re.sub(r"\?\S*", "", detail)


def handle_outage(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """A dependency (Postgres, NATS) is down: 503 with `Retry-After`, counted, no stack trace."""
    HTTP_OUTAGES.labels(type(exc).__name__).inc()
    _log.warning("http.dependency_unavailable", error=repr(exc), path=_instance(request))
    unavailable = Unavailable("A dependency of this service is unavailable; retry later.")
    return handle_soleflip_error(request, unavailable)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """A bug or an unmapped failure: 500 with no internals; the stack trace goes to the log.

    Connection-level failures (`soleflip.common.outages`) are outages, answered 503."""
    if is_outage(exc) and not isinstance(exc, SoleflipError):
        return handle_outage(request, exc)
    _log.error("unhandled exception", exc_info=exc, path=_instance(request))
    return problem_response(
        500,
        detail="An unexpected error occurred. It was logged; quote the x-request-id header.",
        instance=_instance(request),
    )


def exception_handlers() -> ExceptionHandlersMap:
    """The handler map given to every app: most specific class first wins by MRO lookup."""
    return {
        SoleflipError: handle_soleflip_error,
        HTTPException: handle_http_exception,
        Exception: handle_unexpected,
    }
