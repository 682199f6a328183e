"""The consumer runner while a dependency is down: messages are held, no delivery is spent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from prometheus_client import REGISTRY

from soleflip.common.bus import ConsumerRunner, Message, Names, Outcome, Publisher
from tests.support.wait import until


@pytest.fixture
async def runners(bus_nc: Client, names: Names) -> AsyncIterator[Callable[..., ConsumerRunner]]:
    made: list[ConsumerRunner] = []

    def make(**options: Any) -> ConsumerRunner:
        options.setdefault("durable", "test-outage")
        options.setdefault("outage_backoff", (0.1, 0.4))
        runner = ConsumerRunner(bus_nc, names, stream="INGEST", subjects=["ingest.>"], **options)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        await runner.stop(grace=5)


class Dependency:
    """A stand-in for Postgres as the handler sees it: refused until `up` (a real OSError)."""

    def __init__(self) -> None:
        self.up = False
        self.attempts = 0

    def use(self) -> None:
        self.attempts += 1
        if not self.up:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")


async def _publish(js: JetStreamContext, names: Names, count: int) -> None:
    publisher = Publisher(js, names)
    for n in range(count):
        await publisher.publish("ingest.test.thing", f"e{n}".encode(), msg_id=f"e{n}")


def _sample(name: str, names: Names, durable: str = "test-outage") -> float | None:
    return REGISTRY.get_sample_value(name, {"consumer": names.durable(durable)})


async def test_an_outage_longer_than_ack_wait_and_nak_delays_spends_no_delivery(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    db = Dependency()
    applied: list[tuple[bytes, int]] = []

    async def handle(message: Message) -> None:
        db.use()
        applied.append((message.data, message.num_delivered))

    # max_deliver 2 and ack_wait 1 s: without holding, the outage would dead-letter everything.
    await runners(handler=handle, max_deliver=2, ack_wait=1.0, nak_delays=(0.1,)).start()
    await _publish(bus_js, names, 3)
    await until(lambda: db.attempts >= 5)
    assert _sample("soleflip_bus_consumer_paused", names) == 1
    await asyncio.sleep(2.5)  # longer than ack_wait: in-progress acks keep all three ours
    db.up = True
    await until(lambda: len(applied) == 3)

    assert applied == [(b"e0", 1), (b"e1", 1), (b"e2", 1)]
    assert _sample("soleflip_bus_consumer_paused", names) == 0
    assert _sample("soleflip_bus_consumer_pauses_total", names) == 1
    assert _sample("soleflip_bus_dead_letters_total", names) is None


async def test_a_batch_is_held_whole_through_an_outage_then_applied_once(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    db = Dependency()
    applied: list[tuple[bytes, int]] = []

    async def handle(messages: Sequence[Message]) -> Sequence[Outcome]:
        db.use()
        applied.extend((m.data, m.num_delivered) for m in messages)
        return [Outcome.ack()] * len(messages)

    await _publish(bus_js, names, 20)
    await runners(batch_handler=handle, batch_size=20, max_deliver=2, ack_wait=1.0).start()
    await until(lambda: db.attempts >= 5)
    await asyncio.sleep(1.5)
    db.up = True
    await until(lambda: len(applied) == 20)

    assert applied == [(f"e{n}".encode(), 1) for n in range(20)]


async def test_stop_during_an_outage_hands_the_held_messages_back_at_once(
    bus_js: JetStreamContext, names: Names, runners: Callable[..., ConsumerRunner]
) -> None:
    db = Dependency()

    async def handle(message: Message) -> None:
        db.use()

    held = runners(handler=handle, batch_size=10)
    await _publish(bus_js, names, 2)
    await held.start()
    await until(lambda: db.attempts >= 2)
    started = time.monotonic()
    await held.stop(grace=20)
    assert time.monotonic() - started < 2

    seen: list[int] = []

    async def collect(message: Message) -> None:
        seen.append(message.num_delivered)

    await runners(handler=collect).start()  # NAKed without delay: no 30 s ack_wait to sit out
    await until(lambda: len(seen) == 2, within=3)
