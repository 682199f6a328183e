"""Pricing's own settings: defaults, overrides and named errors."""

from __future__ import annotations

import pytest

from soleflip.common.settings import SettingsError
from soleflip.pricing.settings import PricingSettings, load_pricing_settings


def test_defaults_fit_one_seller_on_the_shared_key() -> None:
    assert load_pricing_settings({}) == PricingSettings()
    assert PricingSettings().market_budget_share == 0.4


def test_overrides_are_read_and_validated() -> None:
    env = {
        "SOLEFLIP_PRICING_MARKET_BUDGET_SHARE": "0.25",
        "SOLEFLIP_PRICING_REJECT_AFTER_S": "30",
        "SOLEFLIP_PRICING_DEFAULT_CURRENCY": "gbp",
    }
    settings = load_pricing_settings(env)
    assert (settings.market_budget_share, settings.reject_after_s) == (0.25, 30.0)
    assert settings.default_currency == "GBP"
    with pytest.raises(SettingsError, match="SOLEFLIP_PRICING_POLL_TICK_S"):
        load_pricing_settings({"SOLEFLIP_PRICING_POLL_TICK_S": "-1"})
    with pytest.raises(SettingsError, match="SOLEFLIP_PRICING_REJECT_AFTER_S"):
        load_pricing_settings({"SOLEFLIP_PRICING_REJECT_AFTER_S": "soon"})
