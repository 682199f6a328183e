"""Secret redaction for log events: sensitive keys are masked, secret-looking text is replaced.

Runs as the last structlog processor before rendering, after exceptions were formatted to text,
so tracebacks and exception messages are redacted like any other string.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"

# Key suffixes (after lower-casing and '-' -> '_') whose values are always secret. Suffixes rather
# than exact names, so `stockx_client_secret`, `x_api_key` or `n8n_token` are covered too.
_SECRET_KEY_SUFFIXES = (
    "authorization",
    "signature",
    "token",
    "secret",
    "password",
    "passwd",
    "api_key",
    "apikey",
    "cookie",
    "fernet_keys",
    "credentials",
)

# Patterns that are secret wherever they appear: credentials in headers, Standard Webhooks
# secrets and signatures, our own API tokens, and passwords inside DSNs.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A credential has a digit or symbol, or is long: prose such as "bearer token" stays.
    (
        re.compile(
            r"\b(Bearer|Basic)\s+(?:[\w.~+/=-]*[\d.~+/=-][\w.~+/=-]*|[A-Za-z_]{20,})",
            re.IGNORECASE,
        ),
        rf"\1 {MASK}",
    ),
    (re.compile(r"whsec_[A-Za-z0-9+/=_-]*"), f"whsec_{MASK}"),
    (re.compile(r"\bv1,[A-Za-z0-9+/]{16,}={0,2}"), f"v1,{MASK}"),
    (re.compile(r"\bsf_[A-Za-z0-9_-]{16,}"), f"sf_{MASK}"),
    (re.compile(r"(\w+://[^:/@\s]+:)[^@\s/]+@"), rf"\1{MASK}@"),
)


# Cheap pre-check: most log strings contain none of these, and then no pattern needs to run.
_TRIGGERS = re.compile(r"bearer|basic|whsec_|v1,|sf_|://", re.IGNORECASE)
# Shorter strings cannot hold a configured secret (`Settings.secret_values` keeps >= 6 chars).
_MIN_SECRET_LEN = 6


def is_secret_key(key: object) -> bool:
    """Whether a mapping key or header name names a secret value."""
    if isinstance(key, bytes):
        key = key.decode("latin-1")
    return isinstance(key, str) and _is_secret_name(key)


@functools.lru_cache(maxsize=1024)
def _is_secret_name(key: str) -> bool:
    # Cached: log events reuse a small set of keys.
    return key.strip().lower().replace("-", "_").endswith(_SECRET_KEY_SUFFIXES)


class Redactor:
    """Masks secrets in arbitrarily nested log values; also usable as a structlog processor."""

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        self._values: re.Pattern[str] | None = None
        self.set_secret_values(secret_values)

    def set_secret_values(self, secret_values: Iterable[str]) -> None:
        """Replace the configured literal secrets (longest first, so overlaps mask fully)."""
        values = sorted({v for v in secret_values if v}, key=len, reverse=True)
        self._values = re.compile("|".join(map(re.escape, values))) if values else None

    def __call__(self, _logger: object, _method: str, event_dict: Any) -> Any:
        return {key: self._redact_item(key, value) for key, value in event_dict.items()}

    def redact(self, value: Any) -> Any:
        """A copy of `value` with every secret masked; non-container scalars pass through."""
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, bytes):
            return self.redact_text(value.decode("utf-8", "replace"))
        if isinstance(value, Mapping):
            return {k: self._redact_item(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return self._redact_sequence(value)
        if isinstance(value, BaseException):
            return self.redact_text(f"{type(value).__name__}: {value}")
        return value

    def redact_text(self, text: str) -> str:
        if len(text) < _MIN_SECRET_LEN:
            return text
        if self._values is not None:
            text = self._values.sub(MASK, text)
        if _TRIGGERS.search(text):
            for pattern, replacement in _PATTERNS:
                text = pattern.sub(replacement, text)
        return text

    def _redact_item(self, key: object, value: Any) -> Any:
        if value is not None and is_secret_key(key):
            return MASK
        return self.redact(value)

    def _redact_sequence(self, value: Iterable[Any]) -> Any:
        items = list(value)
        # A (name, value) pair is how ASGI, httpx and nats carry headers.
        if len(items) == 2 and isinstance(items[0], str | bytes) and is_secret_key(items[0]):
            return [self.redact(items[0]), MASK]
        return [self.redact(item) for item in items]
