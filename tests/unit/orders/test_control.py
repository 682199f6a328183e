"""The sync control subject: core NATS only, never captured by a stream."""

from __future__ import annotations

from soleflip.common.bus.streams import STREAMS
from soleflip.orders.control import SYNC_SUBJECT


def _matches(pattern: str, subject: str) -> bool:
    want, have = pattern.split("."), subject.split(".")
    for index, token in enumerate(want):
        if token == ">":
            return len(have) > index
        if index >= len(have) or token not in ("*", have[index]):
            return False
    return len(want) == len(have)


def test_sync_subject_is_outside_every_stream() -> None:
    # A stream capturing it would store the request and answer with a publish ack first.
    captured = [s.name for s in STREAMS for p in s.subjects if _matches(p, SYNC_SUBJECT)]
    assert captured == []
    assert _matches("orders.>", "orders.control.sync")  # the matcher itself can fail
