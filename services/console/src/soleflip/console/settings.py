"""The console's own knobs (`SOLEFLIP_CONSOLE_*`), read once next to the shared `Settings`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

import msgspec

from soleflip.common.settings import SettingsError

SecureCookies = Literal["auto", "always", "never"]
#: The services the console talks to, with their contract ports (ARCHITECTURE.md section 4).
SERVICE_PORTS = {"ingest": 8000, "catalog": 8001, "orders": 8002, "pricing": 8003}
#: Every variable `load_console_settings` reads (the deploy checks accept these too).
VARIABLES = frozenset(
    {
        *(f"SOLEFLIP_CONSOLE_{name.upper()}_URL" for name in SERVICE_PORTS),
        "SOLEFLIP_CONSOLE_SERVICE_TOKEN",
        "SOLEFLIP_CONSOLE_SECURE_COOKIES",
        "SOLEFLIP_CONSOLE_SESSION_TTL_S",
        "SOLEFLIP_CONSOLE_REQUEST_TIMEOUT_S",
    }
)


class ConsoleSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Defaults fit `soleflip dev` on one machine."""

    #: Base URLs of the four services (no trailing slash).
    service_urls: dict[str, str] = msgspec.field(
        default_factory=lambda: {name: f"http://127.0.0.1:{p}" for name, p in SERVICE_PORTS.items()}
    )
    #: The bearer token the console presents to the services (an `admin` or `write` entry of
    #: `SOLEFLIP_API_TOKENS`); what a signed-in user may do is decided by the user's own token.
    service_token: str = ""
    #: `auto`: the session cookie is `Secure` when the request came over HTTPS (directly or as
    #: `X-Forwarded-Proto: https` from the ingress); `always` / `never` force it.
    secure_cookies: SecureCookies = "auto"
    #: A session ends this long after sign-in.
    session_ttl_s: int = 12 * 3600
    #: Per call to a service.
    request_timeout_s: float = 10.0
    #: Rows per page of the inventory and order lists.
    page_size: int = 50


def load_console_settings(env: Mapping[str, str] | None = None) -> ConsoleSettings:
    """Read `SOLEFLIP_CONSOLE_*` from `env` (the process environment by default)."""
    source = os.environ if env is None else env
    defaults = ConsoleSettings()
    urls = dict(defaults.service_urls)
    for name in SERVICE_PORTS:
        variable = f"SOLEFLIP_CONSOLE_{name.upper()}_URL"
        raw = source.get(variable, "").strip()
        if raw:
            if not raw.startswith(("http://", "https://")):
                raise SettingsError(f"{variable} is invalid: must be an http(s) URL")
            urls[name] = raw.rstrip("/")
    secure = source.get("SOLEFLIP_CONSOLE_SECURE_COOKIES", "auto").strip().lower() or "auto"
    if secure not in ("auto", "always", "never"):
        raise SettingsError("SOLEFLIP_CONSOLE_SECURE_COOKIES is invalid: auto, always or never")
    ttl = _positive(source, "SOLEFLIP_CONSOLE_SESSION_TTL_S", defaults.session_ttl_s)
    timeout = _positive(source, "SOLEFLIP_CONSOLE_REQUEST_TIMEOUT_S", defaults.request_timeout_s)
    return ConsoleSettings(
        service_urls=urls,
        service_token=source.get("SOLEFLIP_CONSOLE_SERVICE_TOKEN", "").strip(),
        secure_cookies=secure,  # type: ignore[arg-type]
        session_ttl_s=int(ttl),
        request_timeout_s=float(timeout),
    )


def _positive(source: Mapping[str, str], variable: str, default: float) -> float:
    raw = source.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{variable} is invalid: must be a number") from None
    if not 0 < value <= 10 * 365 * 86400:
        raise SettingsError(f"{variable} is invalid: must be greater than zero")
    return value
