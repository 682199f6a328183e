"""Every event type of the contract, created and encoded as the services do, is a valid
CloudEvents 1.0 event for the official SDK's strict parsers (the v1 HTTP `from_json`, which
requires every required attribute, and the core v1 event, which checks attribute types).

Data is built from each tagged struct's own type information, so a new event type is covered
without editing this test.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as CoreCloudEvent
from cloudevents.v1.http import from_json

from soleflip.common.contracts import encode_event, new_event
from soleflip.common.contracts.envelope import CloudEvent
from tests.unit.common.test_contracts import DECODERS, MODULES, tagged

# Values tried in order against a string's pattern (currency codes, amounts, ids).
_CANDIDATES = ("x", "EUR", "1", "1.00", "a-1")


def sample(t: msgspec.inspect.Type) -> Any:
    """A valid value of type `t` with every optional field filled in (fields are exercised)."""
    match t:
        case msgspec.inspect.Metadata():
            return sample(t.type)
        case msgspec.inspect.StructType():
            return {f.encode_name: sample(f.type) for f in t.fields}
        case msgspec.inspect.UnionType():
            return sample(next(x for x in t.types if not isinstance(x, msgspec.inspect.NoneType)))
        case msgspec.inspect.ListType():
            return [sample(t.item_type)]
        case msgspec.inspect.StrType():
            if t.pattern:
                return next(c for c in _CANDIDATES if re.search(t.pattern, c))
            return "x" * max(t.min_length or 1, 1)
        case msgspec.inspect.IntType():
            return t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else 1)
        case msgspec.inspect.DecimalType() | msgspec.inspect.FloatType():
            # 0.1: a valid amount, rate (fees are at most 0.4 of a price) and ratio alike.
            return "0.1" if isinstance(t, msgspec.inspect.DecimalType) else 1.0
        case msgspec.inspect.BoolType():
            return True
        case msgspec.inspect.DateTimeType():
            return "2026-01-02T03:04:05Z"
        case msgspec.inspect.DateType():
            return "2026-01-02"
        case msgspec.inspect.LiteralType():
            return t.values[0]
        case msgspec.inspect.DictType():
            key = sample(t.key_type)  # currency codes are keys of fee and FX tables (not EUR)
            return {"USD" if key == "EUR" else key: sample(t.value_type)}
        case msgspec.inspect.AnyType():
            return {"k": "v"}
    raise AssertionError(f"no sample for {t}")


def _typed_data(cls: type[msgspec.Struct]) -> Any:
    data_field = next(f for f in msgspec.inspect.type_info(cls).fields if f.name == "data")  # type: ignore[attr-defined]
    return sample(data_field.type)


def assert_valid_cloudevent(raw: bytes) -> None:
    legacy = from_json(raw)
    assert legacy["specversion"] == "1.0"
    core = JSONFormat().read(CoreCloudEvent, raw)
    assert core.get_specversion() == "1.0"
    assert None not in json.loads(raw).values()  # CloudEvents attributes are never null


TYPES = tagged()


@pytest.mark.parametrize("event_type", sorted(TYPES))
@pytest.mark.parametrize("subject", ["sub-1", None])
def test_every_event_type_is_a_valid_cloudevent(event_type: str, subject: str | None) -> None:
    cls = TYPES[event_type]
    module = next(m for m in MODULES if cls.__module__ == m.__name__)
    cause = new_event("stockx.order.updated", {}, source="/webhooks/stockx")
    event = new_event(
        event_type, _typed_data(cls), source="soleflip.test", subject=subject, cause=cause
    )
    raw = encode_event(event)
    assert_valid_cloudevent(raw)
    decoded = DECODERS[module].decode(raw)  # and it is still the contract's typed event
    assert type(decoded) is cls


def test_an_event_without_optional_attributes_is_still_complete() -> None:
    bare = CloudEvent(id="e-1", source="soleflip.test", type="orders.order.upserted")
    assert_valid_cloudevent(encode_event(bare))
    assert msgspec.json.decode(encode_event(bare)) == {
        "id": "e-1",
        "source": "soleflip.test",
        "type": "orders.order.upserted",
        "specversion": "1.0",
    }


def test_sample_values_cover_what_the_contracts_use() -> None:
    # Guard for the generator itself: decimals, dates and datetimes decode as the real types.
    assert msgspec.convert({"d": sample(msgspec.inspect.type_info(Decimal))}, dict[str, Decimal])
    assert msgspec.convert(sample(msgspec.inspect.type_info(date)), date) == date(2026, 1, 2)
    moment = msgspec.convert(sample(msgspec.inspect.type_info(datetime)), datetime)
    assert moment.tzinfo is not None
    assert moment.astimezone(UTC).year == 2026
