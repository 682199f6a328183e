"""Payout breakdowns per docs/domain.md: level fee (regional minimum), 3 % processing, shipping."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

LEVEL_1_RATE = Decimal("0.09")
PROCESSING_RATE = Decimal("0.03")
_MIN_FEE = {
    "EUR": "5",
    "GBP": "5",
    "AUD": "7.50",
    "CAD": "7.00",
    "CHF": "4.50",
    "HKD": "45",
    "JPY": "800",
    "KRW": "7500",
    "MXN": "100",
    "NZD": "16",
    "SGD": "7",
    "USD": "10",
}
_SHIPPING = {"EUR": "10.00", "USD": "4.00", "GBP": "8.00", "CHF": "10.00"}
_CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _money(value: Decimal) -> str:
    return f"{_cents(value):.2f}"


def payout(amount: str, currency: str) -> dict[str, Any]:
    """StockX's `Payout` object for a sale; adjustments are negative and sum to the total."""
    price = Decimal(amount)
    minimum = Decimal(_MIN_FEE.get(currency, "10"))
    transaction = max(_cents(price * LEVEL_1_RATE), minimum)
    processing = _cents(price * PROCESSING_RATE)
    shipping = Decimal(_SHIPPING.get(currency, "10.00"))
    adjustments = [
        ("Transaction Fee (9%)", transaction, LEVEL_1_RATE),
        ("Payment Proc. (3%)", processing, PROCESSING_RATE),
        ("Shipping", shipping, Decimal("0")),
    ]
    total = -(transaction + processing + shipping)
    return {
        "totalPayout": _money(price + total),
        "salePrice": _money(price),
        "totalAdjustments": _money(total),
        "currencyCode": currency,
        "adjustments": [
            {"adjustmentType": kind, "amount": _money(-value), "percentage": str(rate)}
            for kind, value, rate in adjustments
        ],
    }
