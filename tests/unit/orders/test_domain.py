"""Orders domain: fees and payout to the cent (docs/domain.md) and the never-backwards rule."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from soleflip.common.fees import FeeSchedule, schedule_at
from soleflip.orders.domain import (
    FeeBook,
    Fees,
    fees_from_payout,
    newer_chain,
    order_rank,
    version,
)

DEFAULT = FeeBook()
SOLD = datetime(2026, 1, 2, tzinfo=UTC)


def _estimate(price: str, book: FeeBook = DEFAULT, when: datetime = SOLD) -> Fees:
    fees = book.estimate(Decimal(price), "EUR", when)
    assert fees is not None
    return fees


def test_eur_102_sale_at_level_1_pays_79_76() -> None:
    fees = _estimate("102")
    assert fees.transaction_fee == Decimal("9.18")
    assert fees.processing_fee == Decimal("3.06")
    assert fees.shipping_fee == Decimal("10.00")
    assert fees.payout == Decimal("79.76")


def test_regional_minimum_applies_to_the_transaction_fee_only() -> None:
    fees = _estimate("40")  # 9 % of 40 = 3.60 < EUR 5 minimum
    assert fees.transaction_fee == Decimal("5")
    assert fees.processing_fee == Decimal("1.20")
    assert fees.payout == Decimal("23.80")


def test_each_fee_is_rounded_half_up_before_subtracting() -> None:
    assert _estimate("105").payout == Decimal("82.40")  # 9.45 and 3.15 exactly
    assert _estimate("117").payout == Decimal("92.96")  # 10.53, 3.51


def test_book_picks_the_schedule_in_force_at_the_sale() -> None:
    level3 = FeeSchedule(effective_from=datetime(2026, 1, 1, tzinfo=UTC), seller_level=3)
    book = FeeBook([level3])
    assert _estimate("102", book, datetime(2025, 6, 1, tzinfo=UTC)).payout == Decimal("79.76")
    assert _estimate("102", book, datetime(2026, 2, 1, tzinfo=UTC)).payout == Decimal("80.78")


def test_book_picks_the_schedule_schedule_at_picks_at_every_boundary() -> None:
    """The book finds the schedule by bisection: the one `schedule_at` picks, before, at and
    between the starts, and the first given of two starting at the same time."""
    jan, mar = (datetime(2026, m, 1, tzinfo=UTC) for m in (1, 3))
    given = [
        FeeSchedule(effective_from=mar, seller_level=5),
        FeeSchedule(effective_from=jan, seller_level=3),
        FeeSchedule(effective_from=jan, seller_level=4),
    ]
    book = FeeBook(given)
    for when in (datetime(2025, 6, 1, tzinfo=UTC), jan, datetime(2026, 2, 1, tzinfo=UTC), mar):
        assert book.at(when) == schedule_at(given, when), when
        expected = schedule_at(given, when).terms("EUR").breakdown(Decimal("102")).payout
        assert _estimate("102", book, when).payout == expected, when
    assert book.at(jan).seller_level == 3


def test_every_default_currency_has_an_estimate_and_a_cancellation_fee() -> None:
    for currency in ("EUR", "USD", "GBP", "CHF", "CAD", "AUD"):
        assert DEFAULT.estimate(Decimal("100"), currency, SOLD) is not None, currency
        assert DEFAULT.cancellation_fee(currency, SOLD) == Decimal("15.00"), currency
    assert DEFAULT.estimate(Decimal("100"), "XXX", SOLD) is None  # never a guessed figure


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
