"""Helpers shared by the library's integration tests (dead letters, waiting on conditions)."""

from __future__ import annotations

from nats.aio.client import Client
from nats.js import JetStreamContext

from soleflip.common.bus import ConsumerRunner, Message, Names, list_dead_letters
from soleflip.common.errors import InvalidInput
from tests.support.wait import until


async def until_dead(js: JetStreamContext, names: Names, count: int) -> None:
    """Wait until the test's DLQ stream holds `count` dead letters."""

    async def dead() -> bool:
        return len(await list_dead_letters(js, names)) >= count

    await until(dead, what="the dead letters")


class HealingConsumer:
    """`orders-ingest` on INGEST whose handler treats every message as poison (dead letter at
    once) until `heal()`, as before a fix is deployed; afterwards it records what it sees."""

    def __init__(self, nc: Client, names: Names, error: str = "bad size") -> None:
        self.seen: list[Message] = []
        self.healthy = False
        self.error = error
        self.runner = ConsumerRunner(
            nc,
            names,
            stream="INGEST",
            durable="orders-ingest",
            subjects=["ingest.>"],
            handler=self.handle,
        )

    async def handle(self, message: Message) -> None:
        if not self.healthy:
            raise InvalidInput(self.error)
        self.seen.append(message)

    def heal(self) -> None:
        self.healthy = True
