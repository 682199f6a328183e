"""The re-evaluation's event figures: money in cents, exact, from a cache that cannot be told
apart from building each one anew."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from soleflip.pricing.handlers._reprice import _money


@pytest.mark.parametrize(
    ("amount", "text"),
    [("150", "150.00"), ("150.00", "150.00"), ("149.995", "150.00"), ("-0", "-0.00")],
)
def test_money_is_the_amount_in_cents_however_it_was_written(amount: str, text: str) -> None:
    for _ in range(2):  # built, then from the cache
        money = _money(Decimal(amount), "EUR")
        assert money is not None
        assert msgspec.json.decode(msgspec.json.encode(money))["amount"] == text
    assert _money(None, "EUR") is None


def test_equal_amounts_in_other_currencies_and_signed_zeros_stay_apart() -> None:
    monies = [_money(Decimal(a), c) for a, c in [("10", "EUR"), ("10", "USD"), ("0", "EUR")]]
    monies.append(_money(Decimal("-0.00"), "EUR"))
    shown = [(str(m.amount), m.currency) for m in monies if m is not None]
    assert shown == [("10.00", "EUR"), ("10.00", "USD"), ("0.00", "EUR"), ("-0.00", "EUR")]
