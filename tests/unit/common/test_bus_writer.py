"""TurnWriter: the bytes nats-py would send, one write per loop turn, nats-py's buffer kept
(publishes and a batch's acks alike)."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from soleflip.common.bus import Message, Names, Publisher, TurnWriter
from soleflip.common.bus.settle import Settler


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[list[bytes]] = []

    def writelines(self, commands: list[bytes]) -> None:
        self.writes.append(list(commands))


def connected() -> tuple[Client, FakeTransport]:
    """A nats-py client in the state a live connection leaves it (nothing is sent anywhere)."""
    nc, transport = Client(), FakeTransport()
    nc._status = Client.CONNECTED
    nc._transport = transport  # type: ignore[assignment]
    nc._max_pending_size = 1 << 20
    return nc, transport


async def nats_py_command(subject: str, payload: bytes, reply: str, headers: object) -> bytes:
    """What nats-py's own publish path puts on its buffer for the same message."""
    nc = Client()  # never connected: no flusher, the command stays in `_pending`
    await nc._send_publish(subject, reply, payload, len(payload), headers)  # type: ignore[arg-type]
    (command,) = nc._pending
    return command


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {},
        {"Nats-Msg-Id": "a", "ce-type": "orders.order.upserted"},
        {"Nats-Msg-Id": "  padded  ", "traceparent": "00-ab-cd-01"},
        {"ce-type": "t\r\nX: y", "other": "one\rtwo\nthree", "Nats-Msg-Id": "\r\nedge\r\n"},
        {"ce-type": "café ✓"},
    ],
)
async def test_commands_are_byte_for_byte_what_nats_py_sends(
    headers: dict[str, str] | None,
) -> None:
    nc, transport = connected()
    writer = TurnWriter(nc)

    assert writer.write_soon("orders.order.upserted", b"{}", "_INBOX.x.1", headers)
    await asyncio.sleep(0)

    expected = await nats_py_command("orders.order.upserted", b"{}", "_INBOX.x.1", headers)
    assert transport.writes == [[expected]]
    assert (nc.stats["out_msgs"], nc.stats["out_bytes"]) == (1, 2)


async def test_a_loop_turn_of_publishes_is_one_write_after_the_turn() -> None:
    nc, transport = connected()
    writer = TurnWriter(nc)

    for i in range(50):
        assert writer.write_soon(f"s.{i}", b"x", f"_INBOX.x.{i}", {"Nats-Msg-Id": str(i)})
    assert transport.writes == []
    await asyncio.sleep(0)

    assert [len(write) for write in transport.writes] == [50]
    assert (nc._pending, nc._pending_data_size) == ([], 0)
    writer.write_soon("s.next", b"x", "_INBOX.x.next", {})
    await asyncio.sleep(0)
    assert [len(write) for write in transport.writes] == [50, 1]


async def test_a_burst_beyond_nats_py_buffer_bound_is_written_at_once() -> None:
    nc, transport = connected()
    nc._max_pending_size = 100
    writer = TurnWriter(nc)

    writer.write_soon("s", b"x" * 60, "r.1", {})
    assert transport.writes == []
    writer.write_soon("s", b"x" * 60, "r.2", {})

    assert [len(write) for write in transport.writes] == [2]


@pytest.mark.parametrize(
    ("subject", "reply", "headers", "size"),
    [
        ("s", "r", {"bad key": "v"}, 1),  # nats-py refuses it (BadHeaderError)
        ("s", "r", {" Padded-Key ": "v"}, 1),  # nats-py strips the key
        ("s", "r", {"": "v"}, 1),  # nats-py skips the empty key
        ("with space", "r", {}, 1),  # nats-py refuses it (BadSubjectError)
        ("s", "r\r\nPUB x 0", {}, 1),
        ("", "r", {}, 1),
        ("s", "r", {}, 1024 * 1024 + 1),  # over max_payload: nats-py's MaxPayloadError
    ],
)
async def test_what_nats_py_would_change_or_refuse_is_left_to_its_publish(
    subject: str, reply: str, headers: dict[str, str], size: int
) -> None:
    nc, transport = connected()

    assert not TurnWriter(nc).write_soon(subject, b"x" * size, reply, headers)

    await asyncio.sleep(0)
    assert (nc._pending, transport.writes, nc.stats["out_msgs"]) == ([], [], 0)


@pytest.mark.parametrize("status", [Client.RECONNECTING, Client.CLOSED, Client.DRAINING_PUBS])
async def test_while_not_connected_nothing_is_buffered_here(status: int) -> None:
    nc, _ = connected()
    nc._status = status

    assert not TurnWriter(nc).write_soon("s", b"x", "r", {})
    assert nc._pending == []


async def test_a_drop_before_the_write_leaves_the_buffer_to_nats_py_reconnect() -> None:
    nc, transport = connected()
    writer = TurnWriter(nc)
    writer.write_soon("s", b"x", "r.1", {"Nats-Msg-Id": "a"})

    nc._status = Client.RECONNECTING  # what nats-py's read loop does when the socket closes
    await asyncio.sleep(0)

    assert transport.writes == []
    assert len(nc._pending) == 1  # nats-py writes it after the reconnect's CONNECT and SUBs


def _delivered(nc: Client, seq: int) -> Message:
    reply = f"$JS.ACK.INGEST.orders-ingest.1.{seq}.{seq}.1733526400000000000.0"
    raw = Msg(_client=nc, subject="ingest.stockx.order.updated", reply=reply, data=b"{}")
    return Message.from_nats(raw, Names(""))


def _settler(nc: Client) -> Settler:
    return Settler(
        stream="INGEST",
        durable="orders-ingest",
        durable_name="orders-ingest",
        max_deliver=5,
        nak_delays=(1.0,),
        publisher=Publisher(nc.jetstream(), Names("")),
        acks=TurnWriter(nc),
    )


async def test_a_batch_of_acks_is_what_msg_ack_sends_in_one_write() -> None:
    nc, transport = connected()
    messages = [_delivered(nc, seq) for seq in range(1, 4)]

    await _settler(nc).ack_many(messages)
    await asyncio.sleep(0)

    # `Msg.ack` is `publish(reply)`: an empty payload, no reply subject, no headers.
    expected = [await nats_py_command(m.raw.reply, b"", "", None) for m in messages]
    assert transport.writes == [expected]
    assert all(m.raw.is_acked for m in messages)


async def test_an_ack_while_disconnected_is_left_to_nats_py() -> None:
    nc, transport = connected()
    nc._status = Client.RECONNECTING  # nats-py buffers what is published meanwhile
    message = _delivered(nc, 1)

    await _settler(nc).ack_many([message, message])  # the second is already acked: refused
    await asyncio.sleep(0)

    assert transport.writes == []
    assert len(nc._pending) == 1
    assert message.raw.is_acked
