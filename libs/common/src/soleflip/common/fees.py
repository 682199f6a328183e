"""StockX seller fees and the payout formula of docs/domain.md, exact in `Decimal`: one schedule.

Pricing owns the schedules (`GET|PUT /api/v1/fees`) and publishes each new one as
`pricing.fees.updated`; orders keeps a copy and estimates sales with the same code, so a quote and
a sale's estimate never disagree. Sources of every default figure: `docs/fees.md`.

transaction fee = max(price x level rate, regional minimum); processing = price x 3 %;
payout = price - transaction fee - processing - shipping (+ bonuses). Each fee is rounded to the
cent (half up) before it is subtracted. Rates change over time, so a schedule carries the date from
which it applies and every schedule given is kept.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import msgspec

from soleflip.common.contracts.bounds import CurrencyCode, check_amount
from soleflip.common.errors import InvalidInput

CENT = Decimal("0.01")
UNIT = Decimal("1")
ZERO = Decimal("0")
EPOCH = datetime(2023, 7, 1, tzinfo=UTC)  # the July 2023 fee programme

#: Transaction fee by seller level (docs/domain.md, since July 2023).
LEVEL_RATES: dict[int, Decimal] = {
    1: Decimal("0.09"),
    2: Decimal("0.085"),
    3: Decimal("0.08"),
    4: Decimal("0.075"),
    5: Decimal("0.07"),
}
#: Regional minimum transaction fee, by the currency of the region (docs/domain.md).
MINIMUM_FEES: dict[str, Decimal] = {
    "EUR": Decimal("5"),
    "GBP": Decimal("5"),
    "AUD": Decimal("7.50"),
    "CAD": Decimal("7.00"),
    "CHF": Decimal("4.50"),
    "HKD": Decimal("45"),
    "JPY": Decimal("800"),
    "KRW": Decimal("7500"),
    "MXN": Decimal("100"),
    "NZD": Decimal("16"),
    "SGD": Decimal("7"),
    "USD": Decimal("10"),
}
#: Shipping deducted per sale. EUR is measured and USD sourced (docs/domain.md); GBP, CHF, CAD and
#: AUD are assumptions (docs/fees.md says why) until a payout breakdown shows the real figure.
SHIPPING: dict[str, Decimal] = {
    "EUR": Decimal("10.00"),
    "USD": Decimal("4.00"),
    "GBP": Decimal("8.00"),
    "CHF": Decimal("10.00"),
    "CAD": Decimal("10.00"),
    "AUD": Decimal("10.00"),
}
#: What a sale the seller fails (did not ship) costs: USD 15 (docs/domain.md); the "local
#: equivalent" elsewhere is an assumption of 15 units of the local currency (docs/fees.md).
CANCELLATION_FEES: dict[str, Decimal] = {c: Decimal("15.00") for c in SHIPPING}

#: Domain bounds of a schedule: rates are fractions of the price, amounts are per sale.
#: Rates stay below 0.4 so that rate + processing stays below the price (the floor divides).
MAX_RATE = Decimal("0.4")
MAX_AMOUNT = Decimal("100000")  # above KRW 7,500 and JPY 800, the largest real minimums
MAX_CURRENCIES = 64
MAX_LEVELS = 10
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def cents(value: Decimal) -> Decimal:
    """Rounded to the cent, half up (how StockX rounds each fee)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def whole_up(value: Decimal) -> Decimal:
    """The smallest whole currency unit not below `value`."""
    return value.to_integral_value(rounding=ROUND_CEILING)


def _check_number(field: str, value: Decimal, high: Decimal) -> None:
    if not value.is_finite() or not ZERO <= value <= high:
        raise ValueError(f"{field} must be a number from 0 to {high}")


def _check_amounts(field: str, amounts: dict[str, Decimal]) -> None:
    if len(amounts) > MAX_CURRENCIES:
        raise ValueError(f"{field} holds at most {MAX_CURRENCIES} currencies")
    for currency, amount in amounts.items():
        if not _CURRENCY.match(currency):
            raise ValueError(f"{field}: {currency!r} is not an ISO 4217 code")
        _check_number(f"{field}.{currency}", amount, MAX_AMOUNT)
        check_amount(amount, f"{field}.{currency}")  # storable: at most 2 decimals


class FeeSchedule(msgspec.Struct, frozen=True, kw_only=True):
    """The seller's fee terms from `effective_from` on (the default is docs/domain.md's level 1).

    Every figure is bounded (rates 0-0.4, amounts 0-100,000 per sale, at most 64 currencies):
    decoding or converting a schedule outside them fails, so a bad PUT is a 422.
    """

    effective_from: datetime = EPOCH
    seller_level: int = 1
    level_rates: dict[int, Decimal] = msgspec.field(default_factory=lambda: dict(LEVEL_RATES))
    processing_rate: Decimal = Decimal("0.03")
    minimum_fees: dict[CurrencyCode, Decimal] = msgspec.field(
        default_factory=lambda: dict(MINIMUM_FEES)
    )
    shipping: dict[CurrencyCode, Decimal] = msgspec.field(default_factory=lambda: dict(SHIPPING))
    #: Quick-ship and successful-ship bonuses (about 1 % each from level 3), as a rate.
    bonus_rate: Decimal = ZERO
    cancellation_fees: dict[CurrencyCode, Decimal] = msgspec.field(
        default_factory=lambda: dict(CANCELLATION_FEES)
    )

    def __post_init__(self) -> None:
        if self.effective_from.tzinfo is None:
            raise ValueError("effective_from needs a time zone")
        if not 1 <= self.seller_level <= MAX_LEVELS or len(self.level_rates) > MAX_LEVELS:
            raise ValueError(f"seller levels run from 1 to {MAX_LEVELS}")
        for level, rate in self.level_rates.items():
            _check_number(f"level_rates.{level}", rate, MAX_RATE)
        _check_number("processing_rate", self.processing_rate, MAX_RATE)
        _check_number("bonus_rate", self.bonus_rate, MAX_RATE)
        _check_amounts("minimum_fees", self.minimum_fees)
        _check_amounts("shipping", self.shipping)
        _check_amounts("cancellation_fees", self.cancellation_fees)

    def rate(self) -> Decimal:
        try:
            return self.level_rates[self.seller_level]
        except KeyError:
            raise InvalidInput(
                f"no transaction fee rate for seller level {self.seller_level}"
            ) from None

    def terms(self, currency: str) -> FeeTerms:
        """The figures that apply to a sale in `currency`; InvalidInput when unconfigured."""
        minimum, shipping = self.minimum_fees.get(currency), self.shipping.get(currency)
        if minimum is None or shipping is None:
            missing = "minimum fee" if minimum is None else "shipping"
            raise InvalidInput(f"the fee schedule has no {missing} for {currency}")
        return FeeTerms(self.rate(), self.processing_rate, minimum, shipping, self.bonus_rate)

    def cancellation_fee(self, currency: str) -> Decimal | None:
        """What a sale the seller failed costs in `currency` (None when unconfigured)."""
        return self.cancellation_fees.get(currency)


class FeeTerms:
    """The resolved figures of one schedule and currency: what the hot path computes with."""

    __slots__ = ("bonus_rate", "minimum_fee", "processing_rate", "rate", "shipping")

    def __init__(
        self,
        rate: Decimal,
        processing: Decimal,
        minimum: Decimal,
        shipping: Decimal,
        bonus: Decimal,
    ) -> None:
        self.rate, self.processing_rate, self.minimum_fee = rate, processing, minimum
        self.shipping, self.bonus_rate = shipping, bonus

    def payout(self, price: Decimal) -> Decimal:
        """What the seller receives for a sale at `price`, to the cent."""
        return self._parts(price)[3]

    def breakdown(self, price: Decimal) -> PayoutBreakdown:
        transaction, processing, bonus, payout = self._parts(price)
        return PayoutBreakdown(
            price=price,
            transaction_fee=transaction,
            processing_fee=processing,
            shipping=self.shipping,
            bonus=bonus,
            payout=payout,
        )

    def _parts(self, price: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """Transaction fee, processing fee, bonus and payout at `price`: each fee rounded once,
        and the payout their sum (orders prices every order of a batch through `breakdown`)."""
        transaction = max(cents(price * self.rate), self.minimum_fee)
        processing = cents(price * self.processing_rate)
        bonus = cents(price * self.bonus_rate)
        return (
            transaction,
            processing,
            bonus,
            price - transaction - processing - self.shipping + bonus,
        )

    def floor(self, cost: Decimal, min_margin_pct: Decimal = ZERO) -> Decimal:
        """The lowest whole price whose payout covers `cost` plus `min_margin_pct` % of it.

        payout(P) = P - max(rP, m) - pP - s + bP is the smaller of its two branches, so P must
        satisfy both: P(1 - r - p + b) - s >= target and P(1 - p + b) - m - s >= target. Cent
        rounding of each fee can move the answer by a unit, so the estimate is settled exactly
        against `payout` (which is monotone in P) in both directions.
        """
        target = cost + cost * min_margin_pct / 100
        keep = 1 - self.processing_rate + self.bonus_rate
        by_rate = whole_up((target + self.shipping) / (keep - self.rate))
        by_minimum = whole_up((target + self.minimum_fee + self.shipping) / keep)
        price = max(by_rate, by_minimum, UNIT)
        while price > UNIT and self.payout(price - 1) >= target:
            price -= 1
        while self.payout(price) < target:
            price += 1
        return price


class PayoutBreakdown(msgspec.Struct, frozen=True, kw_only=True):
    """Every figure of one sale, for explanations and reconciliation with StockX's payout."""

    price: Decimal
    transaction_fee: Decimal
    processing_fee: Decimal
    shipping: Decimal
    bonus: Decimal
    payout: Decimal


#: The default schedule, built (and bounds-checked) once: orders estimates the fees of every
#: order of a batch through `schedule_at`, and a fresh default per order was ~40 % of its batch
#: handler's time while no schedule was stored. Shared: never mutate a schedule's tables.
_DEFAULT_SCHEDULE = FeeSchedule()


def schedule_at(schedules: list[FeeSchedule], when: datetime) -> FeeSchedule:
    """The schedule in force at `when`: the latest one whose `effective_from` is not after it."""
    current = [s for s in schedules if s.effective_from <= when]
    return max(current, key=lambda s: s.effective_from) if current else _DEFAULT_SCHEDULE
