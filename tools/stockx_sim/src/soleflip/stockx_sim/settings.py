"""Simulator configuration: `SimConfig` with working defaults, read from `SOLEFLIP_SIM_*` here only.

Credentials default to ARCHITECTURE.md's sim values; the control plane (`POST /_sim/seed`,
`PUT /_sim/faults`) can change most knobs at run time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from soleflip.common.settings import Settings, SettingsError


class SimConfig(msgspec.Struct, kw_only=True):
    """Every simulator knob. Mutable on purpose: the control plane edits the live copy."""

    seed: int = 42
    products: int = 40
    listings: int = 25
    orders: int = 12
    client_id: str = "sim-client"
    client_secret: str = "sim-secret"  # noqa: S105 - documented sim default
    refresh_token: str = "sim-refresh"  # noqa: S105 - documented sim default
    api_key: str = "sim-api-key"
    # HS256 keeps the simulator self-contained; StockX (Auth0) signs RS256.
    jwt_secret: str = "sim-jwt-signing-secret-not-for-production"  # noqa: S105
    token_ttl_s: int = 43_200
    rotate_refresh_tokens: bool = False
    settle_delay_s: float = 1.0
    rate_per_s: float = 1.0
    daily_limit: int = 25_000
    relay_url: str | None = None
    relay_secret: str | None = None
    # Base URL written into operation and shipping-document URLs of relayed events.
    public_url: str = "http://127.0.0.1:8090"
    # Sim-clock seconds between order lifecycle steps (CREATED -> SHIPPED -> ... -> COMPLETED).
    order_step_s: float = 6 * 3600.0
    # Sim seconds per wall second: 60 runs a 6-hour order step in 6 minutes.
    clock_speed: float = 1.0


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError("must not be negative")
    return value


_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "SOLEFLIP_SIM_SEED": ("seed", int),
    "SOLEFLIP_SIM_PRODUCTS": ("products", int),
    "SOLEFLIP_SIM_LISTINGS": ("listings", int),
    "SOLEFLIP_SIM_ORDERS": ("orders", int),
    "SOLEFLIP_SIM_CLIENT_ID": ("client_id", str),
    "SOLEFLIP_SIM_CLIENT_SECRET": ("client_secret", str),
    "SOLEFLIP_SIM_REFRESH_TOKEN": ("refresh_token", str),
    "SOLEFLIP_SIM_API_KEY": ("api_key", str),
    "SOLEFLIP_SIM_JWT_SECRET": ("jwt_secret", str),
    "SOLEFLIP_SIM_TOKEN_TTL_S": ("token_ttl_s", int),
    "SOLEFLIP_SIM_ROTATE_REFRESH_TOKENS": ("rotate_refresh_tokens", _bool),
    "SOLEFLIP_SIM_SETTLE_DELAY_S": ("settle_delay_s", _non_negative_float),
    "SOLEFLIP_SIM_RATE_PER_S": ("rate_per_s", _non_negative_float),
    "SOLEFLIP_SIM_DAILY_LIMIT": ("daily_limit", int),
    "SOLEFLIP_SIM_RELAY_URL": ("relay_url", str),
    "SOLEFLIP_SIM_RELAY_SECRET": ("relay_secret", str),
    "SOLEFLIP_SIM_PUBLIC_URL": ("public_url", lambda s: s.rstrip("/")),
    "SOLEFLIP_SIM_ORDER_STEP_S": ("order_step_s", _non_negative_float),
    "SOLEFLIP_SIM_CLOCK_SPEED": ("clock_speed", _non_negative_float),
}


def sim_config_from_env(
    env: Mapping[str, str] | None = None, settings: Settings | None = None
) -> SimConfig:
    """Build the config from `SOLEFLIP_SIM_*`; `SOLEFLIP_STOCKX_*` credentials fill the gaps.

    Reusing the client's credentials means `soleflip dev` wires both sides from one set of
    variables; an explicit `SOLEFLIP_SIM_*` value wins.
    """
    source = os.environ if env is None else env
    values: dict[str, Any] = {}
    if settings is not None:
        for field in ("client_id", "client_secret", "refresh_token", "api_key"):
            value = getattr(settings, f"stockx_{field}")
            if value:
                values[field] = value
    for variable, (field, parse) in _PARSERS.items():
        raw = source.get(variable)
        if raw is None or raw == "":
            continue
        try:
            values[field] = parse(raw)
        except (ValueError, TypeError) as exc:
            raise SettingsError(f"{variable} is invalid: {exc}") from None
    return SimConfig(**values)
