"""Sign-in with an API token and sign-out.

The sign-in form has no session yet, so its CSRF token is a double submit: a random value in a
short-lived SameSite=Strict cookie that the form must repeat.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from litestar import Controller, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from soleflip.console.http._common import (
    AnyRequest,
    Refused,
    Service,
    form_of,
    page,
    secure_cookie,
    see_other,
)
from soleflip.console.session import COOKIE, CSRF_FIELD, csrf_matches

PRE_COOKIE = "soleflip_console_signin"


def _next_of(raw: str | None) -> str:
    """Only a path of this console (no scheme, no host, no `//`): never an open redirect."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/"


def _cookie(request: AnyRequest, service: Any, key: str, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure_cookie(request, service),
    )


class AuthController(Controller):
    """`/sign-in` (form and POST) and `/sign-out`."""

    include_in_schema = False

    @get("/sign-in")
    async def sign_in_form(self, request: AnyRequest, service: Service) -> Template:
        pre = secrets.token_urlsafe(24)
        return page(
            request,
            "sign_in.html",
            None,
            pre_csrf=pre,
            next=_next_of(request.query_params.get("next")),
            cookies=[_cookie(request, service, PRE_COOKIE, pre, 1800)],
        )

    @post("/sign-in", status_code=303)
    async def sign_in(self, request: AnyRequest, service: Service) -> Template | Redirect:
        form = await form_of(request)
        expected = request.cookies.get(PRE_COOKIE, "")
        presented = form.get(CSRF_FIELD, "")
        if not expected or not hmac.compare_digest(expected.encode(), presented.encode()):
            raise Refused(
                "The sign-in form has no valid CSRF token. Reload the sign-in page and try again."
            )
        target = _next_of(form.get("next"))
        signed = service.sessions.sign_in(form.get("token", ""))
        if signed is None:
            pre = secrets.token_urlsafe(24)
            return page(
                request,
                "sign_in.html",
                None,
                status_code=401,
                pre_csrf=pre,
                next=target,
                error="That API token is not valid here.",
                cookies=[_cookie(request, service, PRE_COOKIE, pre, 1800)],
            )
        _, value = signed
        return see_other(
            target,
            cookies=[
                _cookie(request, service, COOKIE, value, service.options.session_ttl_s),
                _cookie(request, service, PRE_COOKIE, "", 0),
            ],
        )

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: AnyRequest, service: Service) -> Redirect:
        # Reading users sign out too: only the CSRF token is checked, not the write scope.
        session = service.sessions.read(request.cookies.get(COOKIE))
        form = await form_of(request)
        if session is not None and not csrf_matches(session, form.get(CSRF_FIELD)):
            raise Refused("The sign-out form has no valid CSRF token. Reload and try again.")
        return see_other("/sign-in", cookies=[_cookie(request, service, COOKIE, "", 0)])
