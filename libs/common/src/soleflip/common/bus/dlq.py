"""Dead letters: the copy a consumer makes before it gives up, and the operator's tools.

A consumer that terminates a message first publishes it to `dlq.<consumer>` (stream `DLQ`, kept
30 days) with the original payload and headers plus:

    x-dlq-error        exception type and message     x-dlq-consumer    contract consumer name
    x-dlq-deliveries   deliveries before giving up     x-dlq-stream      contract stream name
    x-dlq-stream-seq   sequence in the original stream x-dlq-subject     original contract subject
    x-dlq-time         when it was dead-lettered        x-original-msg-id the original event id
    Nats-Msg-Id        `<consumer>:<stream seq>`, so a crash between copy and TERM copies once

For `soleflip dlq list|replay` (the CLI connects, builds `Names` from settings, then calls):

    letters = await list_dead_letters(js, names, consumer="orders-ingest", limit=50)
    for letter in letters: print(letter.summary())
    replayed = await replay(js, names, consumer="orders-ingest")   # or seqs=[12, 15]

`replay` republishes each original payload to its original subject with a fresh
`Nats-Msg-Id` (`<original id>:replay:<random>`) so the duplicate window does not swallow it;
`x-original-msg-id` keeps the event id, so consumers that already processed the event skip it
through their inbox. Replayed dead letters are deleted from `DLQ` unless `delete=False`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from soleflip.common.bus.message import ORIGINAL_MSG_ID, Message
from soleflip.common.bus.names import Names
from soleflip.common.bus.publisher import Outgoing, Publisher, PubResult
from soleflip.common.errors import NotFound, SoleflipError

DLQ_STREAM = "DLQ"
_MAX_ERROR_CHARS = 1000


def dead_letter_subject(consumer: str) -> str:
    """The contract subject dead letters of `consumer` go to."""
    return f"dlq.{consumer}"


def dead_letter_message(
    message: Message, *, stream: str, consumer: str, error: BaseException
) -> Outgoing:
    """The DLQ copy of `message` (see the module docstring for its headers)."""
    headers = _without_transport_headers(message.headers)
    headers.update(
        {
            "x-dlq-error": _header_value(f"{type(error).__name__}: {error}"),
            "x-dlq-consumer": consumer,
            "x-dlq-deliveries": str(message.num_delivered),
            "x-dlq-stream": stream,
            "x-dlq-stream-seq": str(message.stream_seq),
            "x-dlq-subject": message.subject,
            "x-dlq-time": datetime.now(UTC).isoformat(),
        }
    )
    if message.event_id:
        headers[ORIGINAL_MSG_ID] = message.event_id
    msg_id = f"{consumer}:{message.stream_seq}"
    return Outgoing(dead_letter_subject(consumer), message.data, msg_id, headers)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One message of the `DLQ` stream, with its dead-letter headers parsed."""

    seq: int
    consumer: str
    subject: str
    error: str
    deliveries: int | None
    stream_seq: int | None
    original_msg_id: str | None
    time: datetime | None
    data: bytes = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)

    @classmethod
    def from_raw(cls, raw: RawStreamMsg) -> DeadLetter:
        headers = dict(raw.headers or {})
        return cls(
            seq=raw.seq or 0,
            consumer=headers.get("x-dlq-consumer", ""),
            subject=headers.get("x-dlq-subject", ""),
            error=headers.get("x-dlq-error", ""),
            deliveries=_int(headers.get("x-dlq-deliveries")),
            stream_seq=_int(headers.get("x-dlq-stream-seq")),
            original_msg_id=headers.get(ORIGINAL_MSG_ID),
            time=raw.time,
            data=raw.data or b"",
            headers=headers,
        )

    def summary(self) -> str:
        """One line for `soleflip dlq list`."""
        return (
            f"#{self.seq} {self.consumer} {self.subject} id={self.original_msg_id} "
            f"deliveries={self.deliveries} error={self.error}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view (payload as text when it is UTF-8) for `--json` output."""
        try:
            payload: str = self.data.decode()
        except UnicodeDecodeError:
            payload = self.data.hex()
        return {
            "seq": self.seq,
            "consumer": self.consumer,
            "subject": self.subject,
            "error": self.error,
            "deliveries": self.deliveries,
            "stream_seq": self.stream_seq,
            "original_msg_id": self.original_msg_id,
            "time": self.time.isoformat() if self.time else None,
            "payload": payload,
        }


@dataclass(frozen=True, slots=True)
class Replayed:
    """What happened to one dead letter on replay: its PubAck, or why it failed."""

    dead_letter: DeadLetter
    result: PubResult | SoleflipError


async def list_dead_letters(
    js: JetStreamContext,
    names: Names,
    consumer: str | None = None,
    *,
    limit: int = 100,
    start_seq: int = 1,
) -> list[DeadLetter]:
    """Dead letters oldest first, of one consumer (contract name) or all, from `start_seq`."""
    stream = names.stream(DLQ_STREAM)
    subject = names.subject(dead_letter_subject(consumer) if consumer else "dlq.>")
    letters: list[DeadLetter] = []
    seq = max(start_seq, 1)
    while len(letters) < limit:
        try:
            raw = await js.get_msg(stream, seq=seq, subject=subject, next=True)
        except NotFoundError:
            break
        letters.append(DeadLetter.from_raw(raw))
        seq = (raw.seq or seq) + 1
    return letters


async def replay(
    js: JetStreamContext,
    names: Names,
    *,
    consumer: str | None = None,
    seqs: Sequence[int] | None = None,
    limit: int = 100,
    delete: bool = True,
    publisher: Publisher | None = None,
) -> list[Replayed]:
    """Republish dead letters (the given DLQ `seqs`, else up to `limit` of `consumer`).

    A dead letter is deleted from `DLQ` only after its republish was acknowledged.
    """
    if seqs is not None:
        letters = [await _get(js, names, seq) for seq in seqs]
    else:
        letters = await list_dead_letters(js, names, consumer, limit=limit)
    publisher = publisher or Publisher(js, names)
    results = await publisher.publish_many(
        [_replay_message(letter) for letter in letters], return_exceptions=True
    )
    if delete:
        for letter, result in zip(letters, results, strict=True):
            if isinstance(result, PubResult):
                await js.delete_msg(names.stream(DLQ_STREAM), letter.seq)
    return [Replayed(letter, result) for letter, result in zip(letters, results, strict=True)]


async def _get(js: JetStreamContext, names: Names, seq: int) -> DeadLetter:
    try:
        return DeadLetter.from_raw(await js.get_msg(names.stream(DLQ_STREAM), seq=seq))
    except NotFoundError as exc:  # no such sequence, or no DLQ stream at all
        raise NotFound(f"no dead letter #{seq} in {names.stream(DLQ_STREAM)}") from exc


def _replay_message(letter: DeadLetter) -> Outgoing:
    headers = {
        k: v
        for k, v in _without_transport_headers(letter.headers).items()
        if not k.startswith("x-dlq-")
    }
    original = letter.original_msg_id or f"{letter.consumer}:{letter.stream_seq}"
    headers[ORIGINAL_MSG_ID] = original
    headers["x-replayed-from"] = str(letter.seq)
    msg_id = f"{original}:replay:{secrets.token_hex(6)}"
    return Outgoing(letter.subject, letter.data, msg_id, headers)


def _without_transport_headers(headers: Mapping[str, str]) -> dict[str, str]:
    # Nats-* headers belong to the transport (msg id, expected stream); they must not be copied.
    return {k: v for k, v in headers.items() if not k.lower().startswith("nats-")}


def _header_value(text: str) -> str:
    # A CR or LF would end the header block early and corrupt the message.
    flat = " ".join(text.split())
    return flat[:_MAX_ERROR_CHARS]


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
