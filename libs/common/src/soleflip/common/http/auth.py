"""Bearer-token authentication with `read` / `write` / `admin` scopes for `/api/v1` routes.

Tokens are configured as SHA-256 digests (`SOLEFLIP_API_TOKENS`), never in plain text. A request's
token is hashed once and compared in constant time against every entry, so timing reveals
neither which entry matched nor how much of a digest did.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

import structlog
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard
from opentelemetry import trace

from soleflip.common.errors import Forbidden, Unauthorized
from soleflip.common.settings import ApiToken

SCOPES = ("read", "write", "admin")
# Each scope grants itself and everything below it.
_IMPLIED = {"admin": {"admin", "write", "read"}, "write": {"write", "read"}, "read": {"read"}}
STATE_KEY = "soleflip_authenticator"
_PRINCIPAL_KEY = "soleflip.principal"
_REALM = 'Bearer realm="soleflip"'

#: Put on a controller or route (`security=BEARER_SECURITY`) so the OpenAPI UI asks for a token.
BEARER_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored in `SOLEFLIP_API_TOKENS` for `token`."""
    return hashlib.sha256(token.encode()).hexdigest()


def generate_token(name: str = "dev", scopes: Iterable[str] = ("admin",)) -> tuple[str, str]:
    """A new random token and its `name:scopes:sha256` entry for `SOLEFLIP_API_TOKENS`."""
    scope_list = sorted(set(scopes))
    if not scope_list or set(scope_list) - set(SCOPES):
        raise ValueError(f"scopes must be a non-empty subset of {SCOPES}")
    if not name or ":" in name or any(c.isspace() or c == ";" for c in name):
        raise ValueError("name must be non-empty without ':', ';' or whitespace")
    # The `sf_` prefix makes leaked tokens recognisable (and lets the log redactor catch them).
    token = "sf_" + secrets.token_urlsafe(32)
    return token, f"{name}:{','.join(scope_list)}:{hash_token(token)}"


def granted_scopes(token: ApiToken) -> frozenset[str]:
    """The scopes `token` holds once implications are applied."""
    return frozenset().union(*(_IMPLIED.get(scope, set()) for scope in token.scopes))


class TokenAuthenticator:
    """Finds the configured token a presented bearer secret belongs to."""

    def __init__(self, tokens: Sequence[ApiToken]) -> None:
        self._entries = tuple((token.sha256.lower().encode(), token) for token in tokens)

    def authenticate(self, presented: str) -> ApiToken | None:
        digest = hash_token(presented).encode()
        found: ApiToken | None = None
        for expected, token in self._entries:
            # No early exit: every entry costs the same whether or not it matches.
            if hmac.compare_digest(digest, expected):
                found = token
        return found


def bearer_token(authorization: str | None) -> str | None:
    """The credential of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()


def requires(scope: str) -> Guard:
    """A Litestar guard admitting requests whose bearer token grants `scope`."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; expected one of {SCOPES}")

    # Async on purpose: Litestar runs sync guards in a worker thread, where the log context
    # bound here would be lost.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        token = _authenticate(connection)
        if scope not in granted_scopes(token):
            raise Forbidden(
                f"token {token.name!r} lacks the {scope!r} scope",
                headers={
                    "WWW-Authenticate": f'{_REALM}, error="insufficient_scope", scope="{scope}"'
                },
            )

    guard.__name__ = f"requires_{scope}"
    return guard


def _authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiToken:
    cached: object = connection.scope.get(_PRINCIPAL_KEY)
    if isinstance(cached, ApiToken):
        return cached  # several guards on one route authenticate once
    presented = bearer_token(connection.headers.get("authorization"))
    if presented is None:
        raise Unauthorized("a bearer token is required", headers={"WWW-Authenticate": _REALM})
    authenticator = connection.app.state.get(STATE_KEY)
    token = (
        authenticator.authenticate(presented)
        if isinstance(authenticator, TokenAuthenticator)
        else None
    )
    if token is None:
        raise Unauthorized(
            "the bearer token is not valid",
            headers={"WWW-Authenticate": f'{_REALM}, error="invalid_token"'},
        )
    connection.scope[_PRINCIPAL_KEY] = token  # type: ignore[literal-required]
    structlog.contextvars.bind_contextvars(principal=token.name)
    trace.get_current_span().set_attribute("enduser.id", token.name)
    return token


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiToken | None:
    """The token that authenticated this request, once a `requires` guard has run."""
    token: object = connection.scope.get(_PRINCIPAL_KEY)
    return token if isinstance(token, ApiToken) else None
