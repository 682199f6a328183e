"""The transactional outbox: events written in the handler's transaction, published later.

A statement-level trigger (library migration 0000_base) notifies `soleflip_outbox_<schema>` on
commit, waking the relay; the relay's periodic sweep covers lost notifications.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import asyncpg
import msgspec
from opentelemetry.propagate import inject

from soleflip.common.contracts import CloudEvent, encode_event
from soleflip.common.db._inbox import Conn

# Headers travel as JSON text so these work on any connection, with or without the pool codecs.
ENQUEUE_SQL = """
INSERT INTO outbox (event_id, subject, payload, headers) VALUES ($1, $2, $3, $4::text::jsonb)
ON CONFLICT (event_id) DO NOTHING
"""
ENQUEUE_MANY_SQL = """
INSERT INTO outbox (event_id, subject, payload, headers)
SELECT e, s, p, h::jsonb
FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[]) AS t(e, s, p, h)
ON CONFLICT (event_id) DO NOTHING
"""
PRUNE_OUTBOX_SQL = """
DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox
    WHERE published_at IS NOT NULL AND published_at < now() - $1::interval
    LIMIT $2
)
"""

#: An event to enqueue and the subject it is published on.
OutboxEvent = tuple[str, CloudEvent]


class OutboxMessage(msgspec.Struct, frozen=True):
    """One row to publish: `msg_id` is the event id, JetStream's de-duplication key.

    A struct, not a dataclass: the relay makes one per published event, and a frozen
    dataclass's `__init__` (one `object.__setattr__` per field) cost ten times as much."""

    subject: str
    payload: bytes
    msg_id: str
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    id: int = 0


def _trace_headers(headers: dict[str, str] | None) -> dict[str, str]:
    # The trace context of the handler that enqueues, so consumers continue its trace even though
    # the relay publishes later from its own task. One context per call: computed once, not per
    # event (a batch of 500 events spent most of its enqueue time here).
    carrier: dict[str, str] = {}
    inject(carrier)
    carrier.update(headers or {})
    return carrier


def _headers(event: CloudEvent, extra: dict[str, str]) -> dict[str, str]:
    return {"ce-type": event.type, **extra}


def _text(headers: dict[str, str]) -> str:
    return msgspec.json.encode(headers).decode()


def _headers_by_type(
    items: Sequence[OutboxEvent], headers: dict[str, str] | None
) -> dict[str, dict[str, str]]:
    """One header set per event type: a batch has a handful of types and thousands of events."""
    extra = _trace_headers(headers)
    by_type: dict[str, dict[str, str]] = {}
    for _, event in items:
        if event.type not in by_type:
            by_type[event.type] = _headers(event, extra)
    return by_type


async def enqueue(
    conn: Conn, subject: str, event: CloudEvent, headers: dict[str, str] | None = None
) -> None:
    """Add `event` to the outbox in the caller's transaction; a repeated event id is a no-op."""
    await conn.execute(
        ENQUEUE_SQL,
        event.id,
        subject,
        encode_event(event),
        _text(_headers(event, _trace_headers(headers))),
    )


async def enqueue_many(
    conn: Conn,
    items: Sequence[OutboxEvent],
    headers: dict[str, str] | None = None,
) -> None:
    """Add several `(subject, event)` pairs in one statement, in the given order."""
    if not items:
        return
    by_type = {t: _text(h) for t, h in _headers_by_type(items, headers).items()}
    await conn.execute(
        ENQUEUE_MANY_SQL,
        [event.id for _, event in items],
        [subject for subject, _ in items],
        [encode_event(event) for _, event in items],
        [by_type[event.type] for _, event in items],
    )


#: `enqueue_fresh` copies these columns, in this order.
OUTBOX_COPY_COLUMNS = ("event_id", "subject", "payload", "headers")


async def enqueue_fresh(
    conn: Conn,
    items: Sequence[OutboxEvent],
    headers: dict[str, str] | None = None,
) -> None:
    """Add events this transaction just created (fresh UUIDv7 ids) with one COPY, in order.

    Unlike `enqueue_many` a repeated event id is not skipped: it fails the transaction
    (COPY has no ON CONFLICT), so only events whose ids were generated here belong in it. For
    thousands of events it halves the insert's time (COPY batches heap and WAL writes). Needs a
    connection of `create_pool` (headers go through its jsonb codec; elsewhere it raises)."""
    if not items:
        return
    # Each type's headers encoded once, not once per row by the jsonb codec.
    by_type = {
        t: msgspec.Raw(msgspec.json.encode(h)) for t, h in _headers_by_type(items, headers).items()
    }
    await conn.copy_records_to_table(
        "outbox",
        records=[
            (event.id, subject, encode_event(event), by_type[event.type])
            for subject, event in items
        ],
        columns=OUTBOX_COPY_COLUMNS,
    )


async def prune_outbox(pool: asyncpg.Pool, older_than: timedelta, *, batch: int = 10_000) -> int:
    """Delete rows published longer than `older_than` ago, in batches; returns the count."""
    total = 0
    while True:
        status = await pool.execute(PRUNE_OUTBOX_SQL, older_than, batch)
        deleted = int(status.rsplit(" ", 1)[-1])
        total += deleted
        if deleted < batch:
            return total
