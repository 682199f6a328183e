"""What a consumer's handler sees (`Message`) and what it decided (`Outcome`).

Handlers never touch nats-py: they get the contract subject (prefix removed), the payload, the
headers, the event id, delivery metadata and the OpenTelemetry context of the publisher.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import asyncpg
import msgspec
from nats.aio.msg import Msg
from opentelemetry.context import Context
from opentelemetry.propagate import extract

from soleflip.common.bus.names import Names
from soleflip.common.contracts import CloudEvent, decode_event
from soleflip.common.errors import SoleflipError
from soleflip.common.outages import is_outage

# Set by `dlq.replay` on a republished dead letter: the id the event had before, so every
# consumer's inbox (keyed on event id) still recognises it.
ORIGINAL_MSG_ID = "x-original-msg-id"


class Message(msgspec.Struct, frozen=True):
    """One delivered JetStream message, stripped of transport details (a struct: the runner
    makes one per delivered message, a frozen dataclass's `__init__` cost ten times as much)."""

    subject: str
    data: bytes
    headers: Mapping[str, str]
    event_id: str | None
    num_delivered: int
    stream_seq: int
    otel_context: Context
    raw: Msg

    @classmethod
    def from_nats(cls, msg: Msg, names: Names) -> Message:
        headers = dict(msg.headers or {})
        num_delivered, stream_seq = _delivery(msg)
        return cls(
            subject=names.unsubject(msg.subject),
            data=msg.data,
            headers=headers,
            event_id=headers.get(ORIGINAL_MSG_ID) or headers.get("Nats-Msg-Id"),
            num_delivered=num_delivered,
            stream_seq=stream_seq,
            otel_context=extract(headers),
            raw=msg,
        )

    def event(self) -> CloudEvent:
        """The CloudEvent envelope; raises msgspec errors (treated as poison) on bad payloads."""
        return decode_event(self.data)


#: `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`
_V1_ACK_TOKENS = 9


def _delivery(msg: Msg) -> tuple[int, int]:
    """(times delivered, stream sequence) from the reply subject; nats-py's `metadata` also
    builds two dataclasses and a datetime per message (2 % of orders' consumer CPU)."""
    tokens = (msg.reply or "").split(".")
    if len(tokens) == _V1_ACK_TOKENS and tokens[0] == "$JS" and tokens[1] == "ACK":
        return int(tokens[4]), int(tokens[5])
    meta = msg.metadata  # the v2 form (domain, account hash), or not a JetStream message
    return meta.num_delivered, meta.sequence.stream


OutcomeKind = Literal["ack", "retry", "dead", "hold"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """The decision for one message: ack it, retry it later (NAK), dead-letter it (TERM), or
    hold it (a dependency is down: the runner keeps it and tries again, spending no delivery)."""

    kind: OutcomeKind
    error: BaseException | None = None
    delay: float | None = None

    @classmethod
    def ack(cls) -> Outcome:
        return _ACK

    @classmethod
    def retry(cls, error: BaseException, *, delay: float | None = None) -> Outcome:
        return cls("retry", error, delay)

    @classmethod
    def dead(cls, error: BaseException) -> Outcome:
        return cls("dead", error)

    @classmethod
    def hold(cls, error: BaseException) -> Outcome:
        return cls("hold", error)

    @classmethod
    def from_error(cls, error: BaseException) -> Outcome:
        """The contract's mapping: a dependency outage → hold; other transient errors → retry;
        other expected errors, undecodable payloads and data Postgres refuses to store → dead
        letter; anything unexpected → retry until `max_deliver`."""
        if is_outage(error):
            return cls.hold(error)
        if isinstance(error, SoleflipError):
            return (
                cls.retry(error, delay=_retry_after(error)) if error.transient else cls.dead(error)
            )
        if isinstance(error, _CONTENT_ERRORS):
            return cls.dead(error)
        return cls.retry(error)

    @property
    def expected(self) -> bool:
        """Whether the error is one we anticipated (logged without a stack trace)."""
        return (
            self.error is None
            or self.kind == "hold"
            or isinstance(self.error, (SoleflipError, *_CONTENT_ERRORS))
        )


_ACK = Outcome("ack")
#: Failures caused by the message's own content, whatever the state: retrying cannot help.
#: Postgres' data exceptions (SQLSTATE class 22, e.g. a NUL in text) belong here; constraint
#: violations (class 23) do not, since they may depend on what other messages wrote first.
_CONTENT_ERRORS = (msgspec.ValidationError, msgspec.DecodeError, asyncpg.DataError)


def _retry_after(error: SoleflipError) -> float | None:
    """A `Retry-After` the error carries (rate limits) sets the minimum NAK delay."""
    raw = error.headers.get("Retry-After")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
