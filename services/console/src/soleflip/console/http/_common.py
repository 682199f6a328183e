"""What every page shares: who is signed in, the write check (scope and CSRF), page rendering
with the security headers, and errors as readable pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias
from urllib.parse import quote

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from soleflip.common.http._problems import exception_handlers as problem_handlers
from soleflip.console.service import ConsoleService
from soleflip.console.session import COOKIE, CSRF_FIELD, CSRF_HEADER, Session, csrf_matches

Service = NamedDependency[ConsoleService]
AnyRequest: TypeAlias = Request[Any, Any, Any]

#: Pages load only the console's own files; nothing inline runs, nothing frames them.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
NAV = (
    ("today", "/", "Today"),
    ("inventory", "/inventory", "Inventory"),
    ("listings", "/listings", "Listings"),
    ("orders", "/orders", "Orders"),
    ("catalog", "/catalog", "Catalog"),
    ("operations", "/operations", "Operations"),
)


class SignInRequired(Exception):
    """No valid session: a page redirects to the sign-in form."""


class Refused(Exception):
    """A request the console will not carry out (403 page): no session, no write scope, or no
    (or a wrong) CSRF token."""

    def __init__(self, detail: str, status: int = 403) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def session_of(request: AnyRequest, service: ConsoleService) -> Session:
    """The signed-in user of a page request, else a redirect to sign-in."""
    session = service.sessions.read(request.cookies.get(COOKIE))
    if session is None:
        raise SignInRequired
    return session


async def writer(request: AnyRequest, service: ConsoleService) -> tuple[Session, dict[str, str]]:
    """The session of a write request and its form, once the session may write and the form
    (or the `X-CSRF-Token` header) carries the session's CSRF token; else `Refused`."""
    session = service.sessions.read(request.cookies.get(COOKIE))
    if session is None:
        raise Refused("You are not signed in (or your session ended). Sign in and try again.")
    form = await form_of(request)
    presented = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not csrf_matches(session, presented):
        raise Refused(
            "This form has no valid CSRF token (it is stale or did not come from this console). "
            "Reload the page and try again."
        )
    if not session.can_write:
        raise Refused(f"The token {session.name!r} may only read; it cannot change anything.")
    return session, form


async def form_of(request: AnyRequest) -> dict[str, str]:
    """The url-encoded or multipart form as text fields (files excluded)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return {}
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def page(
    request: AnyRequest,
    template: str,
    session: Session | None,
    *,
    active: str = "",
    status_code: int = 200,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Template:
    """A full page (or, for an htmx request of a fragment, the same template rendered)."""
    return Template(
        template_name=template,
        context=page_context(request, session, active=active, **context),
        status_code=status_code,
        headers=SECURITY_HEADERS,
        cookies=cookies or [],
    )


#: A section of a page that htmx loads after it: the service in, the template's data out.
SectionLoader: TypeAlias = Callable[[ConsoleService], Awaitable[dict[str, Any]]]


async def section_page(
    request: AnyRequest,
    service: ConsoleService,
    sections: Mapping[str, SectionLoader],
    name: str,
    template: str,
) -> Template:
    """One section of a page alone (`template` renders `section` from its data); 404 for a
    name the page has not."""
    session = session_of(request, service)
    load = sections.get(name)
    if load is None:
        raise NotFoundException(f"no section {name!r}")
    return page(request, template, session, section=name, **await load(service))


def page_context(
    request: AnyRequest, session: Session | None, *, active: str = "", **context: Any
) -> dict[str, Any]:
    """What every page's template is given besides its own data."""
    return {
        "session": session,
        "nav": NAV,
        "active": active,
        "csrf_field": CSRF_FIELD,
        "path": request.url.path,
        **context,
    }


def render(request: AnyRequest, template: str, context: Mapping[str, Any]) -> str:
    """A template rendered to text (for a page streamed in parts)."""
    engine = request.app.template_engine
    assert engine is not None, "the console app is built with its templates"
    return str(engine.get_template(template).render(**context))


def see_other(path: str, *, cookies: list[Cookie] | None = None) -> Redirect:
    """After a POST: 303 to the page showing the result (a reload does not post again)."""
    return Redirect(path=path, status_code=303, cookies=cookies or [], headers=SECURITY_HEADERS)


def flash_path(path: str, message: str, kind: str = "ok") -> str:
    """`path` with the message the next page shows (`ok` or `problem`), before any `#anchor`."""
    path, hash_, anchor = path.partition("#")
    separator = "&" if "?" in path else "?"
    return f"{path}{separator}{kind}={quote(message)}{hash_}{anchor}"


def is_https(request: AnyRequest) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def secure_cookie(request: AnyRequest, service: ConsoleService) -> bool:
    mode = service.options.secure_cookies
    return mode == "always" or (mode == "auto" and is_https(request))


def money_field(
    form: Mapping[str, str], name: str, currency: str, *, required: bool = False
) -> dict[str, str] | None:
    """A form's money field as `{"amount", "currency"}` (the service checks its bounds)."""
    raw = form.get(name, "").strip().replace(",", ".")
    if not raw:
        if required:
            raise InputProblem(f"{name.replace('_', ' ')} is required")
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise InputProblem(f"{name.replace('_', ' ')} must be a number, e.g. 119.00") from None
    if not amount.is_finite():
        raise InputProblem(f"{name.replace('_', ' ')} must be a number, e.g. 119.00")
    return {"amount": str(amount), "currency": currency}


class InputProblem(Exception):
    """A form field the console cannot even send (the page shows it next to the form)."""


def _page_error(request: AnyRequest, status: int, title: str, detail: str) -> Response[Any]:
    service = request.app.state.get("service")
    session = None
    if isinstance(service, ConsoleService):
        session = service.sessions.read(request.cookies.get(COOKIE))
    if _wants_problem(request):
        return Response(
            {"type": "about:blank", "title": title, "status": status, "detail": detail},
            status_code=status,
            media_type="application/problem+json",
        )
    return page(
        request,
        "error.html",
        session,
        status_code=status,
        title=title,
        detail=detail,
    )


def _wants_problem(request: AnyRequest) -> bool:
    accept = request.headers.get("accept", "")
    return "json" in accept and "html" not in accept


def _refused(request: AnyRequest, exc: Refused) -> Response[Any]:
    return _page_error(request, exc.status, "Refused", exc.detail)


def _sign_in(request: AnyRequest, _: SignInRequired) -> Response[Any]:
    if request.headers.get("hx-request") == "true":  # a fragment: the whole page goes to sign-in
        return Response(b"", status_code=200, headers={"HX-Redirect": "/sign-in"})
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return see_other(f"/sign-in?next={quote(target)}")


def _wrap(handler: Any) -> Any:
    """The shared problem+json handler (it logs and counts), its answer shown as a page."""

    def render(request: AnyRequest, exc: Exception) -> Response[Any]:
        answer = handler(request, exc)
        if _wants_problem(request) or not request.url.path.startswith("/") or _is_probe(request):
            return answer  # type: ignore[no-any-return]
        body = answer.content if isinstance(answer.content, dict) else {}
        status = int(answer.status_code)
        title = str(body.get("title") or "Error")
        detail = str(body.get("detail") or "Something went wrong; it has been logged.")
        if status >= 500:
            detail = "Something went wrong on the console; it has been logged. Try again."
        rendered = _page_error(request, status, title, detail)
        for key, value in answer.headers.items():
            if key.lower() in ("retry-after", "allow"):
                rendered.headers[key] = value
        return rendered

    return render


def _is_probe(request: AnyRequest) -> bool:
    return request.url.path.startswith(("/health", "/metrics", "/schema"))


def exception_handlers() -> ExceptionHandlersMap:
    """HTML pages for the console's own refusals and for every other error."""
    handlers: dict[Any, Any] = {k: _wrap(v) for k, v in problem_handlers().items()}
    handlers[Refused] = _refused
    handlers[SignInRequired] = _sign_in
    return handlers
