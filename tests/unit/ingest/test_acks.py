"""AckTracker: PubAcks matched by reply subject, late ones timed out by the sweeper."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from soleflip.common.errors import Unavailable
from soleflip.ingest.acks import AckTracker, PublishRefused


class FakeMsg:
    def __init__(self, subject: str, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.subject, self.data, self.headers = subject, data, headers


class FakeNats:
    """Records publishes; the test plays JetStream by answering on the reply subject."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, str, dict[str, str]]] = []
        self.inbox: Any = None

    def new_inbox(self) -> str:
        return "_INBOX.test"

    async def subscribe(self, subject: str, future: Any) -> Any:
        assert subject == "_INBOX.test.*"
        self.inbox = future  # nats-py calls `set_result` for each message of such a subscription

        class Sub:
            async def unsubscribe(self) -> None:
                pass

        return Sub()

    async def publish(
        self, subject: str, payload: bytes, reply: str, headers: dict[str, str]
    ) -> None:
        self.published.append((subject, payload, reply, headers))

    async def answer(self, index: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.inbox.set_result(FakeMsg(self.published[index][2], data, headers))


async def tracker(nc: FakeNats, **options: Any) -> AckTracker:
    acks = AckTracker(nc, **{"timeout": 5.0, **options})  # type: ignore[arg-type]
    await acks.start()
    return acks


async def test_pubacks_resolve_their_own_publish_with_the_duplicate_flag() -> None:
    nc = FakeNats()
    acks = await tracker(nc)
    first = await acks.publish("s", b"1", {"Nats-Msg-Id": "a"})
    second = await acks.publish("s", b"2", {"Nats-Msg-Id": "b"})
    await nc.answer(1, b'{"stream":"S","seq":2,"duplicate":true}')
    await nc.answer(0, b'{"stream":"S","seq":1}')
    assert (await first, await second) == (False, True)
    await acks.stop()


async def test_refusals_and_no_responders_fail_the_publish() -> None:
    nc = FakeNats()
    acks = await tracker(nc)
    refused = await acks.publish("s", b"1", {})
    nobody = await acks.publish("s", b"2", {})
    await nc.answer(0, b'{"error":{"code":400,"description":"bad"}}')
    await nc.answer(1, b"", {"Status": "503"})
    with pytest.raises(PublishRefused, match="refused"):
        await refused
    with pytest.raises(PublishRefused, match="no responders"):
        await nobody
    await acks.stop()


async def test_a_missing_puback_times_out() -> None:
    acks = await tracker(FakeNats(), timeout=0.2)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(await acks.publish("s", b"1", {}), 5)
    assert 0.2 <= time.monotonic() - started < 3.0  # generous: CI machines are busy
    await acks.stop()


async def test_too_many_outstanding_publishes_are_refused_as_unavailable() -> None:
    acks = await tracker(FakeNats(), max_pending=2)
    await acks.publish("s", b"1", {})
    await acks.publish("s", b"2", {})
    with pytest.raises(Unavailable):
        await acks.publish("s", b"3", {})
    await acks.stop()
