"""Domain bounds: every integer and decimal of every contract (and of the StockX models relayed
webhooks decode into) refuses what Postgres cannot store or what would make a service allocate
in proportion to it; money keeps its 10 integer digits and 2 decimals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from soleflip.common.contracts import catalog, ingest, orders, pricing
from soleflip.common.contracts.bounds import (
    MAX_QUANTITY,
    Money,
    NonNegativeMoney,
    PositiveMoney,
    amount_problem,
    field_of,
)
from soleflip.common.stockx import Listing, Order, Product

ROOTS: tuple[Any, ...] = (
    ingest.IngestEvent,
    catalog.CatalogEvent,
    orders.OrdersEvent,
    pricing.PricingEvent,
    Order,
    Listing,
    Product,
)
#: Numbers no bounded field may take: non-finite, too large for numeric(12,2) or bigint.
BAD_DECIMALS = ("NaN", "Infinity", "-Infinity", "1e999999", "1" + "0" * 400, "1234567890123")
BAD_INTS = (2**63, 10**400)


def _valid(t: mi.Type) -> Any:
    """A JSON value `t` accepts, for building a valid instance around the field under test."""
    match t:
        case mi.Metadata(type=inner):
            return _valid(inner)
        case mi.UnionType(types=types):
            return _valid(next(x for x in types if not isinstance(x, mi.NoneType)))
        case mi.StrType(pattern=pattern) if pattern:
            return {"^[A-Z]{3}$": "EUR"}.get(pattern, "1")
        case mi.StrType():
            return "x"
        case mi.IntType():
            return 1
        case mi.DecimalType():
            return "1"
        case mi.DateTimeType():
            return datetime.now(UTC).isoformat()
        case mi.DateType():
            return "2026-01-02"
        case mi.BoolType():
            return True
        case mi.StructType() | mi.DataclassType():
            return {f.encode_name: _valid(f.type) for f in t.fields if f.required}
        case mi.ListType(min_length=n) | mi.TupleType(min_length=n) if n:
            return [_valid(t.item_type)]
        case mi.DictType(min_length=n) if n:
            # A currency key other than EUR: FX rate tables are quoted against EUR.
            key = _valid(t.key_type)
            return {"USD" if key == "EUR" else key: _valid(t.value_type)}
        case mi.ListType() | mi.VarTupleType():
            return []
        case _:
            return {}


def _numeric_fields() -> list[tuple[str, Any, str, mi.Type]]:
    """(name, struct class, wire field name, field type) of every int/Decimal field."""
    found: dict[tuple[Any, str], tuple[str, Any, str, mi.Type]] = {}
    for root in ROOTS:
        for node in mi.multi_type_info([root]):
            _collect(node, found, set())
    return sorted(found.values(), key=lambda f: f[0])


def _collect(t: mi.Type, found: dict[Any, Any], seen: set[Any]) -> None:
    if isinstance(t, mi.StructType):
        if t.cls in seen:
            return
        seen.add(t.cls)
        for f in t.fields:
            for leaf in _leaves(f.type):
                if isinstance(leaf, mi.IntType | mi.DecimalType):
                    name = f"{t.cls.__name__}.{f.name}"
                    found[(t.cls, f.name)] = (name, t.cls, f.encode_name, f.type)
                else:
                    _collect(leaf, found, seen)
    for child in _leaves(t):
        if child is not t:
            _collect(child, found, seen)


def _leaves(t: mi.Type) -> list[mi.Type]:
    match t:
        case mi.Metadata(type=inner):
            return _leaves(inner)
        case mi.UnionType(types=types):
            return [leaf for x in types for leaf in _leaves(x)]
        case mi.ListType(item_type=item) | mi.VarTupleType(item_type=item):
            return _leaves(item)
        case mi.DictType(value_type=value):
            return _leaves(value)
        case _:
            return [t]


FIELDS = _numeric_fields()


def test_the_walk_finds_the_numbers_the_issue_names() -> None:
    names = {name for name, *_ in FIELDS}
    assert {"ItemPurchase.quantity", "Money.amount", "MarketSnapshot.lowest_ask"} <= names
    assert {"Payout.total_payout", "Order.amount", "ProductData.retail_price"} <= names


@pytest.mark.parametrize(("name", "cls", "wire", "type_"), FIELDS, ids=[f[0] for f in FIELDS])
def test_every_number_of_every_contract_is_bounded(
    name: str, cls: Any, wire: str, type_: mi.Type
) -> None:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    base = _valid(info)
    msgspec.convert(base, cls)  # the sample itself is valid
    is_int = any(isinstance(leaf, mi.IntType) for leaf in _leaves(type_))
    is_dict = isinstance(type_, mi.DictType)
    for bad in BAD_INTS if is_int else BAD_DECIMALS:
        value: Any = {"k": bad} if is_dict else bad
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({**base, wire: value}, cls)


@pytest.mark.parametrize(
    "quantity",
    [0, MAX_QUANTITY + 1, 2**31, 2**63, 10**400],
    ids=["0", "1001", "2^31", "2^63", "10^400"],
)
def test_a_purchase_holds_one_to_a_thousand_units(quantity: int) -> None:
    data = _valid(mi.type_info(ingest.ItemPurchase))
    msgspec.convert({**data, "quantity": MAX_QUANTITY}, ingest.ItemPurchase)
    with pytest.raises(msgspec.ValidationError, match=r"\$\.quantity"):
        msgspec.convert({**data, "quantity": quantity}, ingest.ItemPurchase)


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        ("9999999999.99", None),
        ("-9999999999.99", None),
        ("0", None),
        ("12.50", None),
        ("12.500", None),  # three places, but the value has two
        ("1E+3", None),
        ("12.345", "at most 2 decimals"),
        ("10000000000", "at most 10 integer digits"),
        ("NaN", "finite"),
        ("-Infinity", "finite"),
        ("1e999999", "at most 10 integer digits"),
    ],
)
def test_money_keeps_ten_integer_digits_and_two_decimals(amount: str, problem: str | None) -> None:
    found = amount_problem(Decimal(amount))
    assert found is None if problem is None else problem in (found or "")


def test_signed_money_kinds() -> None:
    Money(amount=Decimal(-5), currency="EUR")
    NonNegativeMoney(amount=Decimal(0), currency="EUR")
    with pytest.raises(ValueError, match="at least 0"):
        NonNegativeMoney(amount=Decimal("-0.01"), currency="EUR")
    with pytest.raises(ValueError, match="above 0"):
        PositiveMoney(amount=Decimal(0), currency="EUR")


def test_a_refusal_names_the_field_inside_the_struct() -> None:
    raw = b'{"amount": "NaN", "currency": "EUR"}'
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(b'{"unit_cost": ' + raw + b"}", type=dict[str, Money])
    assert field_of(caught.value) == "$[...].amount"
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(b'{"m": ' + raw + b"}", type=_Holder)
    assert field_of(caught.value) == "$.m.amount"
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(b'{"currency": "EUR", "amount": [1]}', type=Money)
    assert field_of(caught.value) == "$.amount"


class _Holder(msgspec.Struct):
    m: Money


def test_a_huge_number_is_not_echoed_back() -> None:
    with pytest.raises(ValueError) as caught:
        Money(amount=Decimal("1" * 5000), currency="EUR")
    assert len(str(caught.value)) < 200


def test_a_recommendation_names_the_input_it_refuses_and_takes_unknown_ones() -> None:
    base = _valid(mi.type_info(pricing.Recommendation))
    inputs = {"lowest_ask": "120.50", "cost": None}
    assert msgspec.convert({**base, "inputs": inputs}, pricing.Recommendation).inputs == {
        "lowest_ask": Decimal("120.50"),
        "cost": None,
    }
    with pytest.raises(msgspec.ValidationError, match=r"inputs\.cost must have at most 2"):
        msgspec.convert({**base, "inputs": {**inputs, "cost": "1.001"}}, pricing.Recommendation)
