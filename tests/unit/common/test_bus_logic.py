"""Pure logic of the bus: outcome mapping, dead-letter headers, stream specs, reconnect jitter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import asyncpg
import msgspec
import pytest
from nats.aio.client import Server
from nats.js.api import StorageType
from opentelemetry.context import Context

from soleflip.common.bus import STREAMS, Message, Names, Outcome, dead_letter_message, stream_spec
from soleflip.common.bus.connection import _jittered_reconnect
from soleflip.common.bus.settle import call_batch
from soleflip.common.bus.streams import _drift
from soleflip.common.errors import Conflict, InvalidInput, RateLimited, Unavailable


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (Unavailable("NATS down"), "hold"),
        (ConnectionRefusedError(111, "Connect call failed"), "hold"),
        (TimeoutError(), "hold"),
        (asyncpg.CannotConnectNowError("the database system is starting up"), "hold"),
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), "hold"),
        (asyncpg.ConnectionDoesNotExistError("connection was closed in the middle"), "hold"),
        (asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"), "hold"),
        # A concurrency conflict is no fault of the message: held and tried again, no delivery.
        (asyncpg.DeadlockDetectedError("deadlock detected"), "hold"),
        (asyncpg.SerializationError("could not serialize access"), "hold"),
        (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), "retry"),
        (RateLimited("slow down"), "retry"),
        (InvalidInput("bad size"), "dead"),
        (Conflict("stale"), "dead"),
        (msgspec.ValidationError("Expected `str`"), "dead"),
        (msgspec.DecodeError("truncated"), "dead"),
        (asyncpg.UntranslatableCharacterError("unsupported Unicode escape"), "dead"),
        (asyncpg.CheckViolationError("violates check constraint"), "retry"),
        (RuntimeError("bug"), "retry"),
    ],
)
def test_errors_map_to_the_contract_outcomes(error: Exception, kind: str) -> None:
    assert Outcome.from_error(error).kind == kind


def test_retry_after_of_a_transient_error_becomes_the_minimum_delay() -> None:
    outcome = Outcome.from_error(RateLimited("slow down", headers={"Retry-After": "12"}))

    assert (outcome.kind, outcome.delay) == ("retry", 12.0)


def test_unexpected_errors_are_not_marked_expected() -> None:
    assert not Outcome.from_error(RuntimeError("bug")).expected
    assert Outcome.from_error(InvalidInput("bad")).expected


def _message(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "subject": "ingest.stockx.order.updated",
        "data": b"{}",
        "headers": {"Nats-Msg-Id": "evt-1", "ce-type": "stockx.order.updated", "traceparent": "x"},
        "event_id": "evt-1",
        "num_delivered": 5,
        "stream_seq": 42,
        "otel_context": Context(),
        "raw": None,
    }
    fields.update(overrides)
    return Message(**fields)


def test_dead_letter_copy_carries_the_error_and_where_the_message_came_from() -> None:
    error = InvalidInput("line one\r\nline two")

    copy = dead_letter_message(_message(), stream="INGEST", consumer="orders-ingest", error=error)

    headers = dict(copy.headers or {})
    assert copy.subject == "dlq.orders-ingest"
    assert copy.msg_id == "orders-ingest:42"
    assert copy.payload == b"{}"
    assert headers["x-dlq-error"] == "InvalidInput: line one line two"
    assert headers["x-dlq-deliveries"] == "5"
    assert headers["x-dlq-stream-seq"] == "42"
    assert headers["x-dlq-subject"] == "ingest.stockx.order.updated"
    assert headers["x-original-msg-id"] == "evt-1"
    assert headers["ce-type"] == "stockx.order.updated"
    assert "Nats-Msg-Id" not in headers  # set from msg_id on publish, never copied


def test_dead_letter_error_header_is_bounded() -> None:
    copy = dead_letter_message(
        _message(), stream="INGEST", consumer="c", error=RuntimeError("x" * 5000)
    )

    assert len((copy.headers or {})["x-dlq-error"]) == 1000


def test_stream_specs_dedupe_for_at_least_two_minutes_within_their_retention() -> None:
    for spec in STREAMS:
        assert 120 <= spec.duplicate_window <= spec.max_age
        assert spec.storage is StorageType.FILE
    assert stream_spec("INGEST").max_age == 14 * 24 * 3600
    assert stream_spec("DLQ").subjects == ("dlq.>",)


def test_stream_config_is_namespaced() -> None:
    config = stream_spec("ORDERS").config(Names("t1"), replicas=3)

    assert (config.name, config.subjects, config.num_replicas) == ("t1_ORDERS", ["t1.orders.>"], 3)


def test_drift_names_only_the_fields_that_differ() -> None:
    want = stream_spec("INGEST").config(Names())
    have = want.evolve(max_age=60.0, subjects=["ingest.>"], num_replicas=None)

    assert _drift(want, have) == ["max_age"]


def _servers(*reconnects: int) -> list[Server]:
    return [
        Server(uri=urlparse(f"nats://h{i}:4222"), reconnects=n) for i, n in enumerate(reconnects)
    ]


def test_reconnect_tries_a_fresh_server_at_once() -> None:
    choose = _jittered_reconnect(1.0, 1.0)

    server, delay = choose(_servers(3, 0, 2), {})

    assert server is not None
    assert (server.uri.hostname, delay) == ("h1", 0.0)


def test_reconnect_waits_with_jitter_after_failures() -> None:
    choose = _jittered_reconnect(1.0, 0.5)

    delays = {choose(_servers(2), {})[1] for _ in range(50)}

    assert all(1.0 <= d <= 1.5 for d in delays)
    assert len(delays) > 1


async def test_a_failing_batch_is_bisected_until_only_the_poison_message_fails() -> None:
    applied: list[int] = []

    async def strict(messages: Sequence[Message]) -> Sequence[Outcome]:
        if any(m.data == b"poison" for m in messages):
            raise asyncpg.CharacterNotInRepertoireError("invalid byte sequence: 0x00")
        applied.extend(m.stream_seq for m in messages)  # committed only when nothing fails
        return [Outcome.ack()] * len(messages)

    batch = [_message(stream_seq=seq, data=b"ok") for seq in range(10)]
    batch[6] = _message(stream_seq=6, data=b"poison")

    outcomes = await call_batch(strict, batch)

    assert [o.kind for o in outcomes] == ["ack"] * 6 + ["dead"] + ["ack"] * 3
    assert sorted(applied) == [0, 1, 2, 3, 4, 5, 7, 8, 9]  # each exactly once, in order
    assert applied == sorted(applied)


async def test_an_unexpected_error_of_one_message_retries_only_that_message() -> None:
    async def buggy(messages: Sequence[Message]) -> Sequence[Outcome]:
        if any(m.stream_seq == 43 for m in messages):
            raise RuntimeError("bug triggered by this one")
        return [Outcome.ack()] * len(messages)

    outcomes = await call_batch(
        buggy, [_message(), _message(stream_seq=43), _message(stream_seq=44)]
    )

    assert [o.kind for o in outcomes] == ["ack", "retry", "ack"]


async def test_an_outage_is_not_split_and_holds_every_message() -> None:
    calls: list[int] = []

    async def down(messages: Sequence[Message]) -> Sequence[Outcome]:
        calls.append(len(messages))
        raise ConnectionRefusedError(111, "Connect call failed")

    outcomes = await call_batch(down, [_message(), _message(stream_seq=43)])

    assert [o.kind for o in outcomes] == ["hold", "hold"]
    assert calls == [2]


async def test_an_outage_during_a_split_holds_the_rest_without_calling_again() -> None:
    calls: list[list[int]] = []

    async def failing(messages: Sequence[Message]) -> Sequence[Outcome]:
        calls.append([m.stream_seq for m in messages])
        if len(calls) == 1:
            raise RuntimeError("bug on some message")
        raise OSError("Postgres went away")

    outcomes = await call_batch(failing, [_message(stream_seq=s) for s in range(4)])

    assert [o.kind for o in outcomes] == ["hold"] * 4
    assert calls == [[0, 1, 2, 3], [0, 1]]


async def test_a_batch_handler_returning_the_wrong_number_of_outcomes_retries_all() -> None:
    async def short(messages: Sequence[Message]) -> Sequence[Outcome]:
        return [Outcome.ack()]

    outcomes = await call_batch(short, [_message(), _message(stream_seq=43)])

    assert [o.kind for o in outcomes] == ["retry", "retry"]
