"""Pricing's own knobs (`SOLEFLIP_PRICING_*`), read once next to the shared `Settings`."""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

from soleflip.common.settings import SettingsError


class PricingSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Defaults fit one seller on the shared 25,000 calls/day StockX key."""

    #: Share of the daily StockX budget the market poller plans to spend.
    market_budget_share: float = 0.4
    #: Relative refresh weights of listed, stocked and other tracked products.
    tier_weights: tuple[float, float, float] = (1.0, 4.0, 24.0)
    #: Never poll a product more often than this, however small the catalog.
    min_poll_interval_s: float = 120.0
    #: The currency polled when no listing says otherwise.
    default_currency: str = "EUR"
    #: Seconds between sweeps that re-evaluate every active listing (cool-downs expire).
    reevaluate_interval_s: float = 60.0
    #: A requested reprice the listing still does not carry after this long counts as rejected.
    reject_after_s: float = 60.0
    #: Seconds between poller wake-ups (it then polls whatever is due).
    poll_tick_s: float = 5.0
    #: Longest idle fetch of a consumer; shutdown waits for one per consumer.
    consumer_fetch_timeout_s: float = 1.0


_FLOATS = {
    "SOLEFLIP_PRICING_MARKET_BUDGET_SHARE": "market_budget_share",
    "SOLEFLIP_PRICING_MIN_POLL_INTERVAL_S": "min_poll_interval_s",
    "SOLEFLIP_PRICING_REEVALUATE_INTERVAL_S": "reevaluate_interval_s",
    "SOLEFLIP_PRICING_REJECT_AFTER_S": "reject_after_s",
    "SOLEFLIP_PRICING_POLL_TICK_S": "poll_tick_s",
}


def load_pricing_settings(env: Mapping[str, str] | None = None) -> PricingSettings:
    """Read `SOLEFLIP_PRICING_*` from `env` (the process environment by default)."""
    source = os.environ if env is None else env
    values: dict[str, object] = {}
    for variable, field in _FLOATS.items():
        raw = source.get(variable)
        if raw:
            try:
                value = float(raw)
            except ValueError:
                raise SettingsError(f"{variable} is invalid: must be a number") from None
            if value <= 0:
                raise SettingsError(f"{variable} is invalid: must be greater than zero")
            values[field] = value
    currency = source.get("SOLEFLIP_PRICING_DEFAULT_CURRENCY")
    if currency:
        values["default_currency"] = currency.strip().upper()
    return PricingSettings(**values)  # type: ignore[arg-type]
