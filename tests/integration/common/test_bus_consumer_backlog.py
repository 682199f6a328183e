"""Regression: a fetch whose client-side queue already holds messages must not fail.

nats-py drains its pending queue first and then sends a `no_wait` pull without `expires`; with an
idle heartbeat attached the server refuses that with 400 "heartbeat value too large", the fetch
raised, the runner dropped its subscription and the drained messages waited a whole `ack_wait`
for redelivery (seen as 30-60 s latency tails under load). The runner now asks for heartbeats
only when nothing is buffered (buffered messages already prove the server is there).
"""

from __future__ import annotations

import json

from nats.aio.client import Client
from nats.js import JetStreamContext

from soleflip.common.bus import ConsumerRunner, Message, Names, Publisher


async def _ignore(_: Message) -> None:
    return None


async def test_fetch_with_buffered_messages_returns_them(
    bus_nc: Client, bus_js: JetStreamContext, names: Names
) -> None:
    runner = ConsumerRunner(
        bus_nc, names, stream="INGEST", durable="backlog", subjects=["ingest.>"], handler=_ignore
    )
    await runner._subscribe()
    publisher = Publisher(bus_js, names)
    for n in range(5):
        await publisher.publish("ingest.test.backlog", b"x", msg_id=f"backlog-{n}")
    sub = runner._sub
    assert sub is not None
    # A pull answered after an earlier fetch gave up leaves messages in the client's queue.
    request = json.dumps({"batch": 5, "no_wait": True}).encode()
    await bus_nc.publish(sub._nms, request, reply=sub._deliver)
    for _ in range(100):
        if sub.pending_msgs == 5:
            break
        await bus_nc.flush()
    assert sub.pending_msgs == 5
    msgs = await runner._fetch()
    assert len(msgs) == 5
    for msg in msgs:
        await msg.ack()
    await runner._unsubscribe()
