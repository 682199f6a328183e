"""Typed settings read once from `SOLEFLIP_*` variables (ARCHITECTURE.md section 8).

Only this module reads the environment. An invalid value raises `SettingsError` naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Literal, TypeVar

import msgspec

T = TypeVar("T")

LogFormat = Literal["json", "console"]
_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class SettingsError(ValueError):
    """A configuration variable is missing or malformed; the message names it."""


class ApiToken(msgspec.Struct, frozen=True):
    """One REST bearer token: a name, its scopes and the SHA-256 hex of the secret."""

    name: str
    scopes: frozenset[str]
    sha256: str


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob of every service. Defaults work on a laptop; secrets have none."""

    database_url: str = "postgresql://postgres@127.0.0.1:5432/soleflip"
    admin_database_url: str | None = None
    nats_url: tuple[str, ...] = ("nats://127.0.0.1:4222",)
    # Prepended to every stream, subject, consumer and KV bucket name, so several deployments
    # (or test runs) can share one NATS server without seeing each other. Empty in production.
    nats_prefix: str = ""
    # Replicas of every JetStream stream the services create: 1 on one server, 3 on a cluster
    # (R3 survives one server loss; R2 buys nothing).
    nats_replicas: int = 1
    http_host: str = "127.0.0.1"
    http_port: int | None = None
    # Where `soleflip webhook send` posts; unset: 127.0.0.1 on SOLEFLIP_HTTP_PORT, else 8000.
    ingest_url: str | None = None
    stockx_api_url: str = "https://api.stockx.com/v2"
    stockx_auth_url: str = "https://accounts.stockx.com"
    stockx_client_id: str = ""
    stockx_client_secret: str = ""
    stockx_refresh_token: str = ""
    stockx_api_key: str = ""
    stockx_rate_per_s: float = 1.0
    stockx_daily_budget: int = 25_000
    poll_interval_s: float = 300.0
    webhook_secrets_stockx: tuple[str, ...] = ()
    webhook_secrets_n8n: tuple[str, ...] = ()
    n8n_tokens: tuple[str, ...] = ()
    api_tokens: tuple[ApiToken, ...] = ()
    fernet_keys: tuple[str, ...] = ()
    log_level: str = "info"
    log_format: LogFormat = "json"
    max_body_bytes: int = 1_048_576
    webhook_rate_per_s: float = 1_000.0
    extra_secrets: tuple[str, ...] = ()
    #: The currency profit is also reported in (orders converts at the rate of the sale date).
    base_currency: str = "EUR"

    @property
    def admin_dsn(self) -> str:
        return self.admin_database_url or self.database_url

    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret, for log redaction."""
        values = (
            self.stockx_client_secret,
            self.stockx_refresh_token,
            self.stockx_api_key,
            *self.webhook_secrets_stockx,
            *self.webhook_secrets_n8n,
            *self.n8n_tokens,
            *self.fernet_keys,
            *self.extra_secrets,
        )
        return tuple(v for v in values if len(v) >= 6)


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("must be a port number between 0 and 65535")
    return value


def _positive_float(raw: str) -> float:
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError("must be a number") from exc
    if value <= 0:
        raise ValueError("must be greater than zero")
    return float(value)


def _log_level(raw: str) -> str:
    level = raw.strip().lower()
    if level not in _LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
    return level


def _log_format(raw: str) -> str:
    fmt = raw.strip().lower()
    if fmt not in ("json", "console"):
        raise ValueError("must be 'json' or 'console'")
    return fmt


def _dsn(raw: str) -> str:
    if not raw.startswith(("postgres://", "postgresql://")):
        raise ValueError("must be a postgresql:// DSN")
    return raw


def _http_url(raw: str) -> str:
    # Caught here rather than as an httpx error on the first StockX call, minutes after start.
    scheme, _, rest = raw.partition("://")
    if scheme not in ("http", "https") or not rest.strip("/"):
        raise ValueError("must be an http:// or https:// URL")
    return raw.rstrip("/")


def _nats_urls(raw: str) -> tuple[str, ...]:
    urls = _csv(raw)
    if not urls:
        raise ValueError("must name at least one server")
    for url in urls:
        if not url.startswith(("nats://", "tls://", "ws://", "wss://")):
            raise ValueError(f"{url!r} is not a nats:// URL")
    return urls


def _replicas(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 5:
        raise ValueError("must be between 1 and 5 (JetStream's limit)")
    return value


def _currency(raw: str) -> str:
    code = raw.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError("must be an ISO 4217 code such as EUR")
    return code


def _prefix(raw: str) -> str:
    if raw and not raw.replace("_", "").replace("-", "").isalnum():
        raise ValueError("may contain only letters, digits, '-' and '_'")
    return raw


def _webhook_secrets(raw: str) -> tuple[str, ...]:
    secrets = _csv(raw)
    for secret in secrets:
        if not secret.startswith("whsec_"):
            raise ValueError("every secret must start with 'whsec_'")
    return secrets


def _api_tokens(raw: str) -> tuple[ApiToken, ...]:
    """Entries `name:scope[,scope]:sha256hex`, separated by `;` or whitespace."""
    tokens = []
    for entry in (e for e in re.split(r"[;\s]+", raw) if e):
        parts = entry.split(":")
        if len(parts) != 3 or not parts[0]:
            raise ValueError(f"entry {entry!r} is not name:scope[,scope]:sha256hex")
        name, scopes, digest = parts
        scope_set = frozenset(s.strip() for s in scopes.split(",") if s.strip())
        unknown = scope_set - {"read", "write", "admin"}
        if unknown or not scope_set:
            raise ValueError(f"entry {name!r} has invalid scopes {sorted(unknown) or 'none'}")
        if not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            raise ValueError(f"entry {name!r} needs a 64-character sha256 hex digest")
        tokens.append(ApiToken(name=name, scopes=scope_set, sha256=digest.lower()))
    return tuple(tokens)


_PARSERS: dict[str, tuple[str, Callable[[str], object]]] = {
    "SOLEFLIP_DATABASE_URL": ("database_url", _dsn),
    "SOLEFLIP_ADMIN_DATABASE_URL": ("admin_database_url", _dsn),
    "SOLEFLIP_NATS_URL": ("nats_url", _nats_urls),
    "SOLEFLIP_NATS_PREFIX": ("nats_prefix", _prefix),
    "SOLEFLIP_NATS_REPLICAS": ("nats_replicas", _replicas),
    "SOLEFLIP_HTTP_HOST": ("http_host", str),
    "SOLEFLIP_HTTP_PORT": ("http_port", _port),
    "SOLEFLIP_INGEST_URL": ("ingest_url", _http_url),
    "SOLEFLIP_STOCKX_API_URL": ("stockx_api_url", _http_url),
    "SOLEFLIP_STOCKX_AUTH_URL": ("stockx_auth_url", _http_url),
    "SOLEFLIP_STOCKX_CLIENT_ID": ("stockx_client_id", str),
    "SOLEFLIP_STOCKX_CLIENT_SECRET": ("stockx_client_secret", str),
    "SOLEFLIP_STOCKX_REFRESH_TOKEN": ("stockx_refresh_token", str),
    "SOLEFLIP_STOCKX_API_KEY": ("stockx_api_key", str),
    "SOLEFLIP_STOCKX_RATE_PER_S": ("stockx_rate_per_s", _positive_float),
    "SOLEFLIP_STOCKX_DAILY_BUDGET": ("stockx_daily_budget", _positive_int),
    "SOLEFLIP_POLL_INTERVAL_S": ("poll_interval_s", _positive_float),
    "SOLEFLIP_WEBHOOK_SECRETS_STOCKX": ("webhook_secrets_stockx", _webhook_secrets),
    "SOLEFLIP_WEBHOOK_SECRETS_N8N": ("webhook_secrets_n8n", _webhook_secrets),
    "SOLEFLIP_N8N_TOKENS": ("n8n_tokens", _csv),
    "SOLEFLIP_API_TOKENS": ("api_tokens", _api_tokens),
    "SOLEFLIP_FERNET_KEYS": ("fernet_keys", _csv),
    "SOLEFLIP_LOG_LEVEL": ("log_level", _log_level),
    "SOLEFLIP_LOG_FORMAT": ("log_format", _log_format),
    "SOLEFLIP_MAX_BODY_BYTES": ("max_body_bytes", _positive_int),
    "SOLEFLIP_WEBHOOK_RATE_PER_S": ("webhook_rate_per_s", _positive_float),
    "SOLEFLIP_EXTRA_SECRETS": ("extra_secrets", _csv),
    "SOLEFLIP_BASE_CURRENCY": ("base_currency", _currency),
}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings once from `env` (the process environment by default)."""
    source = os.environ if env is None else env
    values: dict[str, object] = {}
    for variable, (field, parse) in _PARSERS.items():
        raw = source.get(variable)
        if raw is None or raw == "":
            continue
        try:
            values[field] = parse(raw)
        except (ValueError, TypeError) as exc:
            raise SettingsError(f"{variable} is invalid: {exc}") from None
    return Settings(**values)  # type: ignore[arg-type]
