"""Dead letters can be listed per consumer and replayed to their original subject."""

from __future__ import annotations

from nats.aio.client import Client
from nats.js import JetStreamContext
from opentelemetry.context import Context

from soleflip.common.bus import (
    Message,
    Names,
    Publisher,
    dead_letter_message,
    list_dead_letters,
    replay,
)
from soleflip.common.errors import InvalidInput
from tests.integration.common.support import HealingConsumer, until_dead
from tests.support.wait import until


async def _dead_letter(js: JetStreamContext, names: Names, consumer: str, seq: int) -> None:
    """Dead-letter stream message `seq` as `consumer` would after five failed deliveries."""
    stored = await js.get_msg(names.stream("INGEST"), seq=seq)
    message = _delivered(stored.data or b"", dict(stored.headers or {}), seq)
    copy = dead_letter_message(
        message, stream="INGEST", consumer=consumer, error=InvalidInput("no")
    )
    await Publisher(js, names).publish_many([copy])


def _delivered(data: bytes, headers: dict[str, str], seq: int) -> Message:
    return Message(
        subject="ingest.test.thing",
        data=data,
        headers=headers,
        event_id=headers.get("Nats-Msg-Id"),
        num_delivered=5,
        stream_seq=seq,
        otel_context=Context(),
        raw=None,  # type: ignore[arg-type]
    )


async def test_list_filters_by_consumer_and_respects_the_limit(
    bus_js: JetStreamContext, names: Names
) -> None:
    publisher = Publisher(bus_js, names)
    for i in range(3):
        await publisher.publish("ingest.test.thing", f"p{i}".encode(), msg_id=f"e{i}")
    await _dead_letter(bus_js, names, "orders-ingest", 1)
    await _dead_letter(bus_js, names, "catalog-ingest", 2)
    await _dead_letter(bus_js, names, "orders-ingest", 3)

    orders = await list_dead_letters(bus_js, names, "orders-ingest")
    everything = await list_dead_letters(bus_js, names)
    first = await list_dead_letters(bus_js, names, limit=1)

    assert [(d.original_msg_id, d.data) for d in orders] == [("e0", b"p0"), ("e2", b"p2")]
    assert [d.consumer for d in everything] == ["orders-ingest", "catalog-ingest", "orders-ingest"]
    assert [d.seq for d in first] == [everything[0].seq]
    assert "orders-ingest ingest.test.thing id=e0 deliveries=5" in orders[0].summary()


async def test_replay_republishes_the_original_and_consumers_see_the_original_event_id(
    bus_nc: Client, bus_js: JetStreamContext, names: Names
) -> None:
    consumer = HealingConsumer(bus_nc, names)
    await consumer.runner.start()
    try:
        await Publisher(bus_js, names).publish("ingest.test.thing", b"payload", msg_id="evt-9")
        await until_dead(bus_js, names, 1)
        consumer.heal()

        replayed = await replay(bus_js, names, consumer="orders-ingest")
        await until(lambda: len(consumer.seen) == 1)
    finally:
        await consumer.runner.stop()

    seen = consumer.seen
    assert len(replayed) == 1
    assert not isinstance(replayed[0].result, Exception)
    assert seen[0].event_id == "evt-9"
    assert seen[0].data == b"payload"
    assert seen[0].headers["Nats-Msg-Id"].startswith("evt-9:replay:")
    assert not any(k.startswith("x-dlq-") for k in seen[0].headers)
    assert await list_dead_letters(bus_js, names) == []  # replayed letters are deleted


async def test_replaying_twice_is_not_swallowed_by_deduplication(
    bus_js: JetStreamContext, names: Names
) -> None:
    await Publisher(bus_js, names).publish("ingest.test.thing", b"p", msg_id="e0")
    await _dead_letter(bus_js, names, "orders-ingest", 1)
    [letter] = await list_dead_letters(bus_js, names)

    first = await replay(bus_js, names, seqs=[letter.seq], delete=False)
    second = await replay(bus_js, names, seqs=[letter.seq], delete=False)

    results = [first[0].result, second[0].result]
    assert all(not isinstance(r, Exception) and not r.duplicate for r in results)
    assert len(await list_dead_letters(bus_js, names)) == 1
