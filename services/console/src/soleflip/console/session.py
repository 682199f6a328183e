"""Sign-in sessions: an encrypted cookie naming the API token the user signed in with, and the
CSRF token every form of that session carries.

The cookie is Fernet-encrypted with `SOLEFLIP_FERNET_KEYS` (any replica reads it; rotation as
for StockX tokens) and holds the token's name and digest, never the token. Each request looks the
entry up in `SOLEFLIP_API_TOKENS` again: a token removed or re-scoped there ends or narrows its
sessions at once. Scopes are the services' (`read` < `write` < `admin`).
"""

from __future__ import annotations

import hmac
import secrets
import time

import msgspec
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from soleflip.common.http.auth import TokenAuthenticator, granted_scopes
from soleflip.common.settings import ApiToken

COOKIE = "soleflip_console"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"


class SessionData(msgspec.Struct, frozen=True):
    """What the cookie carries (encrypted)."""

    name: str
    digest: str
    csrf: str
    issued: int


class Session(msgspec.Struct, frozen=True):
    """A signed-in user: the token's name, its scopes now, and the session's CSRF token."""

    name: str
    scopes: frozenset[str]
    csrf: str

    @property
    def can_write(self) -> bool:
        return "write" in self.scopes


class Sessions:
    """Issues and reads session cookies for the configured tokens."""

    def __init__(self, tokens: tuple[ApiToken, ...], keys: tuple[str, ...], ttl_s: int) -> None:
        self._tokens = tokens
        self._authenticator = TokenAuthenticator(tokens)
        # No configured key: sessions live as long as this process (logged by the app).
        self._fernet = MultiFernet([Fernet(k) for k in keys] or [Fernet(Fernet.generate_key())])
        self.ttl_s = ttl_s

    def sign_in(self, presented: str) -> tuple[Session, str] | None:
        """The session and its cookie value for a presented API token, or None."""
        token = self._authenticator.authenticate(presented.strip())
        if token is None:
            return None
        data = SessionData(token.name, token.sha256.lower(), secrets.token_urlsafe(32), _now())
        cookie = self._fernet.encrypt(msgspec.json.encode(data)).decode()
        return Session(token.name, granted_scopes(token), data.csrf), cookie

    def read(self, cookie: str | None) -> Session | None:
        """The session a cookie stands for, while it is fresh and its token still configured."""
        if not cookie:
            return None
        try:
            raw = self._fernet.decrypt(cookie.encode(), ttl=self.ttl_s)
            data = msgspec.json.decode(raw, type=SessionData)
        except (InvalidToken, msgspec.DecodeError, ValueError):
            return None
        for token in self._tokens:
            same = hmac.compare_digest(token.sha256.lower().encode(), data.digest.encode())
            if token.name == data.name and same:
                return Session(token.name, granted_scopes(token), data.csrf)
        return None


def csrf_matches(session: Session, presented: str | None) -> bool:
    """True when a form or header presents this session's CSRF token."""
    return bool(presented) and hmac.compare_digest(session.csrf.encode(), str(presented).encode())


def _now() -> int:
    return int(time.time())
