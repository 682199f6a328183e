"""StockX OAuth2 tokens, refreshed once for all processes.

The token record (access token, expiry, refresh token, refresh lease) is Fernet-encrypted in the
`stockx_auth` KV bucket. A process that finds the token due (80 % of its lifetime) or rejected
claims a lease by compare-and-set on the record's revision; only the winner calls the token
endpoint, the others keep using a still-valid token or poll the record until the winner writes
the new one. So N processes make exactly one token request per refresh. A refresh token the
endpoint rejects is marked dead in the record, and every process then fails fast with
`StockXAuthError` instead of retrying it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

import msgspec

from soleflip.common.settings import Settings
from soleflip.common.stockx._errors import (
    StockXUnauthorized,
)

AUDIENCE = "gateway.stockx.com"
_REAUTHORIZE = (
    "re-authorize the StockX app (authorization-code flow with scope 'offline_access openid') "
    "and set SOLEFLIP_STOCKX_REFRESH_TOKEN to the new refresh token"
)


class TokenSource(Protocol):
    """Supplies access tokens; `after_rejection` returns one other than the rejected token."""

    async def get_token(self) -> str: ...

    async def after_rejection(self, rejected: str) -> str: ...


class StaticToken:
    """A fixed access token (scripts, tests); a rejection is final."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def get_token(self) -> str:
        return self._token

    async def after_rejection(self, rejected: str) -> str:
        raise StockXUnauthorized("StockX rejected the static access token", status_code=401)


@dataclass(frozen=True, slots=True)
class OAuthCredentials:
    """The OAuth client and the refresh token to start from."""

    auth_url: str
    client_id: str
    client_secret: str
    refresh_token: str

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuthCredentials:
        return cls(
            auth_url=settings.stockx_auth_url.rstrip("/"),
            client_id=settings.stockx_client_id,
            client_secret=settings.stockx_client_secret,
            refresh_token=settings.stockx_refresh_token,
        )

    def fingerprint(self, refresh_token: str) -> str:
        """Identifies a credential set without storing it, to remember which one is dead."""
        raw = f"{self.client_id}\0{self.client_secret}\0{refresh_token}".encode()
        return hashlib.sha256(raw).hexdigest()[:32]


def token_key(client_id: str) -> str:
    """One token record per OAuth app, named by a digest of its client id."""
    return "token." + hashlib.sha256(client_id.encode()).hexdigest()[:16]


class TokenRecord(msgspec.Struct, kw_only=True, frozen=True):
    """The shared, encrypted token state. Times are epoch seconds."""

    access_token: str = ""
    issued_at: float = 0.0
    expires_at: float = 0.0
    refresh_at: float = 0.0
    refresh_token: str = ""
    lease_owner: str = ""
    lease_until: float = 0.0
    dead: str = ""
    dead_reason: str = ""


class _TokenResponse(msgspec.Struct):
    access_token: str
    expires_in: float = 3600.0
    refresh_token: str | None = None


class _Rejected(Exception):
    """The token endpoint refused the credentials (4xx other than 429)."""


@dataclass(frozen=True, slots=True)
class TokenTiming:
    """When to refresh and how long to wait for another process's refresh."""

    refresh_fraction: float = 0.8
    lease_s: float = 30.0
    wait_s: float = 45.0
    poll_s: float = 0.05
    request_timeout_s: float = 15.0
    #: a token younger than this that StockX rejects is not refreshed again (unless it is about
    #: to expire anyway): the fault is elsewhere (API key, app access), and refreshing on every
    #: call would hammer the token host.
    min_forced_refresh_s: float = 30.0
