"""Domain bounds of every number and string in a contract or a request (ARCHITECTURE.md 4).

Money is finite, has at most 2 decimals and at most 10 integer digits (Postgres keeps it as
`numeric(12,2)`/`numeric(14,2)`); a purchase holds 1 to 1,000 units; row ids are positive
bigints. msgspec's `Meta` cannot constrain a `Decimal`, so `Money` checks its amount in
`__post_init__` (msgspec turns the `ValueError` into a `ValidationError` at the struct's path, the
message names the field) and structs with bare `Decimal` fields call `check_amounts` there too.
Strings must not hold NUL (`\\u0000`): Postgres `text` cannot store it (`has_nul` finds one in
raw JSON without decoding it). Out of bounds is a 422 at ingest and at every REST edge, and a
dead letter on NATS.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

import msgspec

#: Units in one purchase (`inventory.item.purchased`, `POST /api/v1/stock`); each is one row.
MAX_QUANTITY = 1_000
MONEY_INTEGER_DIGITS = 10
MONEY_DECIMALS = 2
MAX_AMOUNT = Decimal("9999999999.99")
#: A ratio (a fee percentage of 0.1, an ROI) is finite and at most this large either way.
MAX_RATIO = Decimal(1000)
#: Postgres `bigint` (and `bigserial` ids) end here.
MAX_BIGINT = 2**63 - 1
_CENT = Decimal(1).scaleb(-MONEY_DECIMALS)

NonEmptyStr = Annotated[str, msgspec.Meta(min_length=1)]
CurrencyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
Quantity = Annotated[
    int,
    msgspec.Meta(ge=1, le=MAX_QUANTITY, description=f"units bought, 1 to {MAX_QUANTITY:,}"),
]
RowId = Annotated[int, msgspec.Meta(ge=1, le=MAX_BIGINT)]
#: An amount as StockX sends it, a string: optional sign, 1-10 integer digits, 0-2 decimals.
AmountText = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^-?[0-9]{1,10}(\.[0-9]{1,2})?$",
        description="a decimal string, at most 10 integer digits and 2 decimals",
    ),
]


def amount_problem(value: Decimal, *, minimum: Decimal | None = None) -> str | None:
    """Why `value` is not a storable amount (None when it is); `minimum` is inclusive."""
    if not value.is_finite():
        return "must be a finite number"
    if value and value.adjusted() >= MONEY_INTEGER_DIGITS:
        return f"must have at most {MONEY_INTEGER_DIGITS} integer digits"
    # Exact whenever the value has at most 2 decimals (or trailing zeros after them), and cheap:
    # `as_tuple()` builds a named tuple of every digit (7 % of orders' consumer CPU, per Money).
    if value != value.quantize(_CENT):
        return f"must have at most {MONEY_DECIMALS} decimals"
    if minimum is not None and value < minimum:
        return f"must be at least {minimum}"
    return None


def check_amount(value: Decimal | None, field: str, *, minimum: Decimal | None = None) -> None:
    """Raise `ValueError` naming `field` unless `value` is None or a storable amount."""
    if value is None:
        return
    problem = amount_problem(value, minimum=minimum)
    if problem is not None:
        raise ValueError(f"{field} {problem} (got {_shown(value)})")


def check_ratio(value: Decimal | None, field: str, *, limit: Decimal = MAX_RATIO) -> None:
    """Raise `ValueError` unless `value` is None or a finite ratio within +-`limit`."""
    if value is not None and not (value.is_finite() and abs(value) <= limit):
        raise ValueError(f"{field} must be a finite number from -{limit} to {limit}")


def check_amounts(obj: object, *fields: str, minimum: Decimal | None = None) -> None:
    """`check_amount` on each named attribute of `obj` (for a struct's `__post_init__`)."""
    for field in fields:
        check_amount(getattr(obj, field), field, minimum=minimum)


# JSON carries U+0000 only as the escape `\u0000`: an odd run of backslashes starts one.
_ESCAPED_NUL = re.compile(rb"(\\+)u0000")
NUL_PROBLEM = "holds a NUL character (\\u0000), which Postgres cannot store"


def has_nul(raw: bytes) -> bool:
    """Whether the JSON text `raw` holds a NUL character in any string or key, at any depth."""
    if b"\\u0000" not in raw:  # JSON can only spell NUL as \u0000: most bodies stop here
        return False
    return any(len(m.group(1)) % 2 for m in _ESCAPED_NUL.finditer(raw))


def nul_path(raw: bytes) -> str:
    """The JSON path of the first string or key of `raw` holding a NUL (`$` if unparsable)."""
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return "$"
    stack: list[tuple[str, object]] = [("$", value)]
    while stack:  # iterative: a deep document must not exhaust the stack here
        path, node = stack.pop()
        if isinstance(node, str) and "\x00" in node:
            return path
        if isinstance(node, dict):
            for key, item in node.items():
                if "\x00" in key:
                    return path
                stack.append((f"{path}.{key}", item))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(node))
    return "$"


_AT = re.compile(r" - at `(\$[^`]*)`$")
_NAMED = re.compile(r"^([A-Za-z_][\w.]*) must ")


def field_of(exc: msgspec.ValidationError) -> str:
    """The JSON path a validation error is about, down to the field a struct check names.

    msgspec reports a `__post_init__` refusal at the struct's path (`$.unit_cost`); the checks
    here start their message with the field (`amount must ...`), so the path can name it.
    """
    message = str(exc)
    at = _AT.search(message)
    path = at.group(1) if at else "$"
    named = _NAMED.match(message)
    return f"{path}.{named.group(1)}" if named else path


def _shown(value: Decimal) -> str:
    # A bound is often broken by a huge number: never echo a megabyte of digits.
    text = str(value)
    return text if len(text) <= 32 else text[:29] + "..."


class Money(msgspec.Struct, frozen=True, kw_only=True):
    """An amount with its currency; JSON carries the amount as a string or number, never float.

    Any sign (profits and adjustments can be negative); see `NonNegativeMoney`/`PositiveMoney`.
    Constructing one also checks it: quantize a computed amount to cents first.
    """

    amount: Decimal
    currency: CurrencyCode

    def __post_init__(self) -> None:
        check_amount(self.amount, "amount")


class NonNegativeMoney(Money, frozen=True, kw_only=True):
    """Money that cannot be below zero: costs, fees (a gift costs 0)."""

    def __post_init__(self) -> None:
        check_amount(self.amount, "amount", minimum=Decimal(0))


class PositiveMoney(Money, frozen=True, kw_only=True):
    """Money that must be above zero: prices asked or paid."""

    def __post_init__(self) -> None:
        check_amount(self.amount, "amount")
        if self.amount <= 0:
            raise ValueError(f"amount must be above 0 (got {_shown(self.amount)})")


__all__ = [
    "MAX_AMOUNT",
    "MAX_BIGINT",
    "MAX_QUANTITY",
    "MAX_RATIO",
    "MONEY_DECIMALS",
    "MONEY_INTEGER_DIGITS",
    "NUL_PROBLEM",
    "AmountText",
    "CurrencyCode",
    "Money",
    "NonEmptyStr",
    "NonNegativeMoney",
    "PositiveMoney",
    "Quantity",
    "RowId",
    "amount_problem",
    "check_amount",
    "check_amounts",
    "check_ratio",
    "field_of",
    "has_nul",
    "nul_path",
]
