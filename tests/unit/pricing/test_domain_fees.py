"""Fees, payout and the floor solver (docs/domain.md figures, exact in Decimal)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import msgspec
import pytest

from soleflip.common.errors import InvalidInput
from soleflip.pricing.domain import FeeSchedule, schedule_at

EUR = FeeSchedule().terms("EUR")


def test_eur_102_sale_at_level_1_pays_79_76() -> None:
    breakdown = EUR.breakdown(D("102"))
    assert breakdown.transaction_fee == D("9.18")
    assert breakdown.processing_fee == D("3.06")
    assert breakdown.shipping == D("10.00")
    assert breakdown.payout == D("79.76")
    assert EUR.payout(D("102")) == D("79.76")


def test_minimum_fee_replaces_a_smaller_percentage_fee() -> None:
    # 9 % of 50 is 4.50 < EUR 5: the minimum applies; 3 % processing stays.
    assert EUR.payout(D("50")) == D("50") - D("5") - D("1.50") - D("10")


def test_each_fee_is_rounded_half_up_to_the_cent() -> None:
    # 9 % of 105 = 9.45, 3 % of 105 = 3.15; 9 % of 117 = 10.53; 3 % of 117 = 3.51.
    assert EUR.payout(D("105")) == D("105") - D("9.45") - D("3.15") - D("10")
    # 0.09 * 61 = 5.49 (> 5), 0.03 * 61 = 1.83
    assert EUR.payout(D("61")) == D("61") - D("5.49") - D("1.83") - D("10")


def test_seller_level_and_bonus_change_the_payout() -> None:
    level3 = FeeSchedule(seller_level=3, bonus_rate=D("0.02")).terms("EUR")
    # 8 % of 200 = 16, 3 % = 6, bonus 2 % = 4
    assert level3.payout(D("200")) == D("200") - D("16") - D("6") - D("10") + D("4")


def test_every_default_region_quotes_including_gbp_and_chf() -> None:
    # GBP and CHF were refused ("no shipping for GBP") before the defaults covered them.
    for currency in ("EUR", "USD", "GBP", "CHF", "CAD", "AUD"):
        assert FeeSchedule().terms(currency).floor(D("80")) > 80, currency
    # GBP: 9 % of 102 = 9.18 (> GBP 5), 3.06, shipping GBP 8 (an assumption, docs/fees.md)
    assert FeeSchedule().terms("GBP").payout(D("102")) == D("81.76")
    # CHF: 9 % of 40 = 3.60 < CHF 4.50 minimum, 1.20, CHF 10
    assert FeeSchedule().terms("CHF").payout(D("40")) == D("24.30")


def test_unconfigured_currency_is_invalid_input_not_a_guess() -> None:
    with pytest.raises(InvalidInput, match="shipping for JPY"):
        FeeSchedule().terms("JPY")
    with pytest.raises(InvalidInput, match="seller level 6"):
        FeeSchedule(seller_level=6).terms("EUR")


@pytest.mark.parametrize(
    "fields",
    [
        {"seller_level": 11},
        {"processing_rate": "0.5"},
        {"bonus_rate": "-0.01"},
        {"level_rates": {"1": "NaN"}},
        {"shipping": {"EUR": "1000000"}},
        {"shipping": {"EUR": "10.001"}},
        {"minimum_fees": {"eur": "5"}},
        {
            "cancellation_fees": {
                "".join(chr(65 + i // 26**k % 26) for k in range(3)): 1 for i in range(65)
            }
        },
        {"effective_from": "2026-01-01T00:00:00"},
    ],
)
def test_a_schedule_outside_its_domain_bounds_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(fields, FeeSchedule, strict=False)


def _brute_floor(cost: D, margin: D) -> D:
    target = cost + cost * margin / 100
    price = D(1)
    while EUR.payout(price) < target:
        price += 1
    return price


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        (D("0"), D("16")),  # payout(16) = 16 - 5 - 0.48 - 10 = 0.52; payout(15) < 0
        (D("38.35"), D("55")),  # payout(55) = 55 - 5 - 1.65 - 10 (minimum branch)
        (D("38.36"), D("56")),  # payout(56) = 56 - 5.04 - 1.68 - 10 = 39.28 (rate branch)
        (D("39.28"), D("56")),  # exactly payout(56)
        (D("39.29"), D("57")),  # one cent more needs the next unit
    ],
)
def test_floor_is_exact(cost: D, expected: D) -> None:
    assert EUR.floor(cost) == expected == _brute_floor(cost, D(0))


def test_floor_is_exact_on_both_sides_of_the_minimum_fee_boundary() -> None:
    # 9 % of P equals the EUR 5 minimum at P = 55.56: P <= 55 pays the minimum, P >= 56 the rate.
    assert max(D("55") * D("0.09"), D("5")) == D("5")
    assert D("56") * D("0.09") > D("5")
    below, above = EUR.payout(D("55")), EUR.payout(D("56"))
    assert below == D("55") - D("5") - D("1.65") - D("10")  # minimum branch
    assert EUR.floor(below) == D("55")
    assert EUR.floor(below + D("0.01")) == D("56")
    assert EUR.floor(above) == D("56")
    for cents in range(3800, 4100):
        cost = D(cents) / 100
        assert EUR.floor(cost) == _brute_floor(cost, D(0)), cost


def test_floor_covers_the_margin() -> None:
    floor = EUR.floor(D("100"), D("10"))
    assert EUR.payout(floor) >= D("110") > EUR.payout(floor - 1)


def test_schedule_at_picks_the_latest_effective_schedule() -> None:
    old = FeeSchedule(effective_from=datetime(2024, 1, 1, tzinfo=UTC), seller_level=1)
    new = FeeSchedule(effective_from=datetime(2025, 1, 1, tzinfo=UTC), seller_level=2)
    assert schedule_at([old, new], datetime(2024, 6, 1, tzinfo=UTC)) is old
    assert schedule_at([old, new], datetime(2025, 6, 1, tzinfo=UTC)) is new
    assert schedule_at([new], datetime(2024, 6, 1, tzinfo=UTC)) == FeeSchedule()
