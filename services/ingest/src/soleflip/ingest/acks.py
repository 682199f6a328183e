"""Pipelined JetStream publishes with PubAcks matched by reply subject, on nats-py's public API.

nats-py's `publish_async` costs about as much per message as the whole webhook check: a
semaphore, two random tokens, a done-callback closure, `json.loads` and a dataclass per PubAck.
This does the same job with one wildcard reply subscription, a counter for tokens and msgspec
for the ack; the in-flight count is bounded so a stuck server turns into 503s, not memory.
Timeouts come from one sweeper task instead of a timer per publish (`asyncio.wait_for` costs a
timer, a waiter future and a callback each): every publish shares the same timeout, so the
oldest deadlines are always at the front of a queue. PubAcks are handled inside nats-py's read
loop (`soleflip.common.bus.ReplyInbox`), not handed to a subscription task first; publishes are
written at the end of the loop turn that made them (`soleflip.common.bus.TurnWriter`, as the
shared `Publisher` does), not handed to nats-py's flusher task.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from soleflip.common.bus import ReplyInbox, TurnWriter, decode_pub_ack
from soleflip.common.errors import Unavailable

RETRY_AFTER = {"Retry-After": "5"}
#: How often the sweeper looks for PubAcks that did not come in time (the timeout's resolution).
SWEEP_INTERVAL_S = 0.1


class PublishRefused(Exception):
    """JetStream answered with an error (or nobody answered: no stream for the subject)."""


class AckTracker:
    """Publishes with a unique reply subject each and resolves a future per PubAck."""

    def __init__(self, nc: Client, *, timeout: float, max_pending: int = 4000) -> None:
        self._nc = nc
        self._prefix = f"{nc.new_inbox()}."
        self._pending: dict[str, asyncio.Future[bool]] = {}
        self._deadlines: deque[tuple[float, str]] = deque()
        self._tokens = itertools.count()
        self._timeout = timeout
        self._max_pending = max_pending
        self._sub: Subscription | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._writer = TurnWriter.of(nc)

    async def start(self) -> None:
        # A core subscription: nats-py re-creates it by itself after a reconnect.
        inbox = ReplyInbox(self._on_ack)
        self._sub = await self._nc.subscribe(self._prefix + "*", future=inbox)
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> asyncio.Future[bool]:
        """Send one message; the future resolves to the PubAck's `duplicate` flag, or fails with
        `TimeoutError` when no PubAck arrived within the timeout."""
        if len(self._pending) >= self._max_pending:
            raise Unavailable("too many publishes awaiting JetStream", headers=RETRY_AFTER)
        token = str(next(self._tokens))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._pending[token] = future
        self._deadlines.append((loop.time() + self._timeout, token))
        reply = self._prefix + token
        try:
            if not self._writer.write_soon(subject, payload, reply, headers):
                await self._nc.publish(subject, payload, reply=reply, headers=headers)
        except BaseException:
            self._pending.pop(token, None)
            raise
        return future

    def forget(self, futures: list[asyncio.Future[bool]]) -> None:
        """Stop waiting for `futures` (timed out or abandoned); late PubAcks are then ignored."""
        targets = {id(f) for f in futures}
        for f in futures:
            f.cancel()
        for token in [t for t, f in self._pending.items() if id(f) in targets]:
            del self._pending[token]

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            now, deadlines = loop.time(), self._deadlines
            while deadlines and deadlines[0][0] <= now:
                future = self._pending.pop(deadlines.popleft()[1], None)
                if future is not None and not future.done():
                    future.set_exception(TimeoutError("no PubAck in time"))

    def _on_ack(self, msg: Msg) -> None:
        # Runs inside nats-py's read loop: it raises nothing (a decode error fails the publish).
        future = self._pending.pop(msg.subject[len(self._prefix) :], None)
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get("Status") == "503":
            future.set_exception(PublishRefused("no stream captures the subject (no responders)"))
            return
        try:
            ack = decode_pub_ack(msg.data)
        except msgspec.DecodeError as exc:
            future.set_exception(PublishRefused(f"unreadable PubAck: {exc}"))
            return
        if ack.error is not None:
            future.set_exception(PublishRefused(f"JetStream refused the message: {ack.error}"))
        else:
            future.set_result(ack.duplicate)
