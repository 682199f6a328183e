"""Orders domain: fees and payout to the cent (docs/domain.md) and the never-backwards rule."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from soleflip.orders.domain import (
    FeeRule,
    FeeSchedule,
    estimate_fees,
    fees_from_payout,
    newer_chain,
    order_rank,
    version,
)

EUR_2023 = FeeRule("EUR", date(2023, 7, 1), Decimal("0.09"), Decimal("5"), Decimal("0.03"),
                   Decimal("10.00"))  # fmt: skip


def test_eur_102_sale_at_level_1_pays_79_76() -> None:
    fees = estimate_fees(Decimal("102"), EUR_2023)
    assert fees.transaction_fee == Decimal("9.18")
    assert fees.processing_fee == Decimal("3.06")
    assert fees.shipping_fee == Decimal("10.00")
    assert fees.payout == Decimal("79.76")


def test_regional_minimum_applies_to_the_transaction_fee_only() -> None:
    fees = estimate_fees(Decimal("40"), EUR_2023)  # 9 % of 40 = 3.60 < EUR 5 minimum
    assert fees.transaction_fee == Decimal("5")
    assert fees.processing_fee == Decimal("1.20")
    assert fees.payout == Decimal("23.80")


def test_each_fee_is_rounded_half_up_before_subtracting() -> None:
    fees = estimate_fees(Decimal("105"), EUR_2023)  # 9.45 and 3.15 exactly; 0.5 cents never lost
    assert fees.payout == Decimal("82.40")
    odd = estimate_fees(Decimal("117"), EUR_2023)  # 10.53, 3.51
    assert odd.payout == Decimal("92.96")


def test_schedule_picks_the_rule_in_force_on_the_sale_date() -> None:
    newer = FeeRule("EUR", date(2026, 1, 1), Decimal("0.08"), Decimal("5"), Decimal("0.03"),
                    Decimal("10.00"))  # fmt: skip
    schedule = FeeSchedule([newer, EUR_2023])
    old = schedule.estimate(Decimal("102"), "EUR", date(2025, 6, 1))
    new = schedule.estimate(Decimal("102"), "EUR", date(2026, 2, 1))
    assert old is not None
    assert old.payout == Decimal("79.76")
    assert new is not None
    assert new.payout == Decimal("80.78")
    assert schedule.estimate(Decimal("102"), "EUR", date(2020, 1, 1)) is None


def test_payout_breakdown_is_the_truth() -> None:
    adjustments = [
        ("Transaction Fee (9%)", Decimal("-9.18")),
        ("Payment Proc. (3%)", Decimal("-3.06")),
        ("Shipping", Decimal("-10.00")),
        ("Quick ship bonus", Decimal("1.02")),
    ]
    fees = fees_from_payout(Decimal("80.78"), adjustments)
    assert (fees.transaction_fee, fees.processing_fee, fees.shipping_fee) == (
        Decimal("9.18"),
        Decimal("3.06"),
        Decimal("10.00"),
    )
    assert fees.payout == Decimal("80.78")


T1 = datetime(2026, 1, 1, tzinfo=UTC)
T2 = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [(None, [2, 0, 1]), (version(T1, order_rank("SHIPPED")), [0, 1]), (version(T2, 100), [])],
)
def test_newer_chain_only_moves_forward(
    stored: tuple[datetime, int] | None, expected: list[int]
) -> None:
    snapshots = [
        (version(T1, order_rank("RECEIVED")), 0),
        (version(T2, order_rank("AUTHENTICATED")), 1),
        (version(T1, order_rank("SHIPPED")), 2),
        (version(T1, order_rank("SHIPPED")), 3),  # a duplicate never applies twice
    ]
    assert newer_chain(snapshots, stored) == expected


def test_unknown_status_never_wins_a_tie() -> None:
    assert order_rank("SOMETHING_NEW") < order_rank("CREATED")


def test_landed_cost_counts_vat_only_when_the_seller_cannot_reclaim_it() -> None:
    from soleflip.orders.domain import CostParts, landed_cost, vat_included

    vat = vat_included(Decimal("119.00"), Decimal("19"))
    assert vat == Decimal("19.00")
    parts = CostParts(Decimal("119.00"), vat, Decimal("5.00"), Decimal("2.00"))
    assert landed_cost(parts, vat_reclaimable=False) == Decimal("126.00")
    assert landed_cost(parts, vat_reclaimable=True) == Decimal("107.00")
