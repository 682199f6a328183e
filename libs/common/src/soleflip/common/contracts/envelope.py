"""The CloudEvents 1.0 structured-JSON envelope every event travels in (contract section 5)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import msgspec


def _spec_version() -> str:
    return "1.0"


class CloudEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A CloudEvents 1.0 event. `data` stays raw JSON-compatible until a consumer decodes it.

    Unset optional attributes are omitted (CloudEvents forbids null attribute values), but
    `specversion` is required on the wire: a `default_factory` that is not an empty collection is
    never omitted by msgspec, while a missing `specversion` on decode still reads as "1.0".
    """

    id: str
    source: str
    type: str
    specversion: str = msgspec.field(default_factory=_spec_version)
    subject: str | None = None
    time: datetime | None = None
    datacontenttype: str = "application/json"
    data: Any = None
    correlationid: str | None = None
    causationid: str | None = None


class TypedEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """The envelope of a typed event: each context's events subclass it with a `tag` (their
    CloudEvents `type`) and a typed `data`, so one decoder per context picks the class by type."""

    id: str
    source: str
    specversion: str = "1.0"
    subject: str | None = None
    time: datetime | None = None
    datacontenttype: str = "application/json"
    correlationid: str | None = None
    causationid: str | None = None


_encoder = msgspec.json.Encoder(decimal_format="string")
_event_decoder = msgspec.json.Decoder(CloudEvent)
_events_decoder = msgspec.json.Decoder(CloudEvent | list[CloudEvent])


#: Random bytes for ids, drawn from the OS a few kilobytes at a time: one `os.urandom` call per
#: event (a system call) was 6 % of orders' consumer CPU, an event per order changed.
_RANDOM_CHUNK = 10 * 512
_random = bytearray()


def _forget_random() -> None:
    _random.clear()  # a forked child must never hand out its parent's next ids


os.register_at_fork(after_in_child=_forget_random)


#: The millisecond of the last id and its text up to the version digit ("01a24da0-06f6-7"):
#: formatting the time was a third of an id's cost, and ids come in bursts within one ms.
_prefix: tuple[int, str] = (-1, "")


def uuid7() -> str:
    """A time-ordered UUIDv7 (RFC 9562) string for events we create: 48 bits of Unix time in ms,
    the version, 12 random bits, the variant, 62 random bits (built as text: the same layout as
    an int of 128 bits, without its shifts and `uuid.UUID`'s formatting)."""
    global _prefix
    if not _random:
        _random.extend(os.urandom(_RANDOM_CHUNK))
    ms = time.time_ns() // 1_000_000 & 0xFFFFFFFFFFFF
    if ms != _prefix[0]:
        stamp = f"{ms:012x}"
        _prefix = (ms, f"{stamp[:8]}-{stamp[8:]}-7")
    value = _random[-10:]
    del _random[-10:]
    value[2] = 0x80 | (value[2] & 0x3F)
    text = value.hex()  # its first digit gives way to the version
    return f"{_prefix[1]}{text[1:4]}-{text[4:8]}-{text[8:]}"


def new_event(
    type_: str,
    data: Any,
    *,
    source: str,
    subject: str | None = None,
    cause: CloudEvent | None = None,
) -> CloudEvent:
    """An event we create: UUIDv7 id, current time, correlation carried over from `cause`."""
    event_id = uuid7()
    return CloudEvent(
        id=event_id,
        source=source,
        type=type_,
        subject=subject,
        time=datetime.now(UTC),
        data=data,
        correlationid=(cause.correlationid or cause.id) if cause else event_id,
        causationid=cause.id if cause else None,
    )


def encode_event(event: CloudEvent) -> bytes:
    return _encoder.encode(event)


def decode_event(raw: bytes) -> CloudEvent:
    """Decode one envelope; raises msgspec.ValidationError / DecodeError on bad input."""
    return _event_decoder.decode(raw)


def decode_events(raw: bytes) -> list[CloudEvent]:
    """Decode a single envelope or a list of them into a list."""
    decoded = _events_decoder.decode(raw)
    return decoded if isinstance(decoded, list) else [decoded]
