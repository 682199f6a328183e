"""Event contracts: every event type of the contract (section 5) is a frozen Struct tagged with
its type, tags are unique, and the envelope round-trips with a UUIDv7 id."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest

from soleflip.common.contracts import (
    catalog,
    decode_event,
    encode_event,
    ingest,
    new_event,
    orders,
    pricing,
    uuid7,
)

ARCHITECTURE = Path(__file__).resolve().parents[3] / "docs" / "ARCHITECTURE.md"
MODULES = (ingest, catalog, orders, pricing)
DECODERS: dict[ModuleType, msgspec.json.Decoder[Any]] = {
    ingest: ingest.ingest_event_decoder,
    catalog: catalog.catalog_event_decoder,
    orders: orders.orders_event_decoder,
    pricing: pricing.pricing_event_decoder,
}


def structs(module: ModuleType) -> list[type[msgspec.Struct]]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, msgspec.Struct)
        and value.__module__ == module.__name__
    ]


def tagged() -> dict[str, type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}
    for module in MODULES:
        for cls in structs(module):
            tag = cls.__struct_config__.tag
            if isinstance(tag, str) and not cls.__name__.startswith("_"):  # bases: not in unions
                assert tag not in found, f"tag {tag} is used twice"
                found[tag] = cls
    return found


def contract_event_types() -> set[str]:
    """Event types named in section 5: the ingest table and the services' published list."""
    section = ARCHITECTURE.read_text().split("## 5. Events", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"`([a-z]+(?:\.[a-z]+){2,})`", section))
    # `control.*` subjects are core-NATS requests between replicas, not events on a stream.
    return {n for n in names if not n.startswith(("ingest.", "dlq.", "soleflip.", "control."))}


def test_every_contract_event_type_has_exactly_one_tagged_struct() -> None:
    assert len(contract_event_types()) == 16  # 7 accepted at ingest, 9 published by services
    assert set(tagged()) == contract_event_types()


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_every_contract_struct_is_frozen(module: ModuleType) -> None:
    assert [c.__name__ for c in structs(module) if not c.__struct_config__.frozen] == []


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_a_module_decoder_refuses_a_type_of_another_context(module: ModuleType) -> None:
    foreign = (
        b'{"specversion": "1.0", "id": "1", "source": "x", "type": "no.such.type", "data": {}}'
    )
    with pytest.raises(msgspec.ValidationError):
        DECODERS[module].decode(foreign)


def test_an_event_round_trips_and_gets_a_uuid7_id() -> None:
    event = new_event("orders.order.upserted", {"order_number": "1-1"}, source="soleflip.orders")
    assert decode_event(encode_event(event)) == event
    assert uuid.UUID(event.id).version == 7
    with pytest.raises(AttributeError):
        event.id = "other"  # type: ignore[misc]


def test_uuid7_ids_carry_the_time_version_and_variant_and_never_repeat() -> None:
    before = time.time_ns() // 1_000_000
    ids = [uuid7() for _ in range(5_000)]  # many share a millisecond, hence its cached text
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    for text in ids:
        value = uuid.UUID(text)
        assert str(value) == text
        assert (value.version, value.variant) == (7, uuid.RFC_4122)
        assert before <= value.int >> 80 <= after
