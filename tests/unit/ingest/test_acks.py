"""AckTracker: PubAcks matched by reply subject, late ones timed out by the sweeper."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from nats.aio.client import Client

from soleflip.common.errors import Unavailable
from soleflip.ingest.acks import AckTracker, PublishRefused


class FakeMsg:
    def __init__(self, subject: str, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.subject, self.data, self.headers = subject, data, headers


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[list[bytes]] = []

    def writelines(self, commands: list[bytes]) -> None:
        self.writes.append(list(commands))


class FakeNats:
    """Records publishes (written HPUB commands, or `publish` calls while not connected); the
    test plays JetStream by answering on the reply subject."""

    def __init__(self, status: int = Client.CONNECTED) -> None:
        self.published: list[tuple[str, bytes, str, dict[str, str]]] = []
        self.inbox: Any = None
        self._status = status
        self._pending: list[bytes] = []
        self._pending_data_size = 0
        self._transport = FakeTransport()
        self.max_payload = 1024
        self._max_pending_size = 1 << 20
        self.stats = {"out_msgs": 0, "out_bytes": 0}

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

    def written(self) -> list[tuple[str, bytes, str, dict[str, str]]]:
        """The HPUB commands written to the transport, parsed back."""
        found = []
        for command in (c for write in self._transport.writes for c in write):
            line, _, rest = command.partition(b"\r\n")
            _, subject, reply, header_len, _ = line.decode().split(" ")
            block, payload = rest[: int(header_len)], rest[int(header_len) : -2]
            pairs = [h.split(": ", 1) for h in block.decode().split("\r\n")[1:] if h]
            found.append((subject, payload, reply, dict(pairs)))
        return found

    async def answer(self, index: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        await asyncio.sleep(0)  # the tracker writes at the end of the loop turn
        reply = (self.published + self.written())[index][2]
        self.inbox.set_result(FakeMsg(reply, data, headers))


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


async def test_publishes_of_one_loop_turn_are_written_together_after_it() -> None:
    nc = FakeNats()
    acks = await tracker(nc)
    await acks.publish("s.a", b"1", {"Nats-Msg-Id": "a", "ce-type": "t\r\nX: y"})
    await acks.publish("s.b", b"22", {"Nats-Msg-Id": "b"})
    assert nc._transport.writes == []
    await asyncio.sleep(0)
    assert len(nc._transport.writes) == 1
    assert nc._pending == []
    (a, b) = nc.written()
    assert (a[0], a[1], a[3]) == ("s.a", b"1", {"Nats-Msg-Id": "a", "ce-type": "t  X: y"})
    assert (b[0], b[1], b[3]) == ("s.b", b"22", {"Nats-Msg-Id": "b"})
    assert a[2] != b[2]
    await acks.stop()


async def test_while_not_connected_nats_py_publishes_and_buffers() -> None:
    nc = FakeNats(status=Client.RECONNECTING)
    acks = await tracker(nc)
    pending = await acks.publish("s", b"1", {"Nats-Msg-Id": "a"})
    await asyncio.sleep(0)
    assert nc._transport.writes == []
    assert [p[0] for p in nc.published] == ["s"]
    await nc.answer(0, b'{"stream":"S","seq":1}')
    assert await pending is False
    await acks.stop()
