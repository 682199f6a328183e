"""A durable pull consumer runner: fetch, hand to a handler, ack/nak/term, dead-letter.

Outcome mapping (ARCHITECTURE.md section 5): the handler returns → ACK; a dependency outage
(`soleflip.common.outages`) → the message is held, fetching stops and the runner tries again with
backoff, spending no delivery; another transient `SoleflipError` → NAK with a delay from
`nak_delays`; any other `SoleflipError` or an undecodable payload (poison) → copy to
`dlq.<durable>`, then TERM; an unexpected exception → NAK with delay, and on the
`max_deliver`-th delivery → dead letter, so the server never drops a message silently.

The server-side `max_deliver` is one more than ours: that reserve delivery only exists to retry
a dead-letter copy that could not be published (NATS down at that moment), never the handler.

nats-py pull subscriptions can go quiet after a server restart, so the runner fetches with idle
heartbeats (a heartbeat means "alive, no messages"; silence means "no server") and re-creates
the consumer and subscription after a reconnect, an API error or repeated silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

import msgspec
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError

from soleflip.common.bus._process import Processor
from soleflip.common.bus._writer import TurnWriter
from soleflip.common.bus.message import Message
from soleflip.common.bus.metrics import RESUBSCRIBES
from soleflip.common.bus.names import Names
from soleflip.common.bus.publisher import Publisher
from soleflip.common.bus.settle import (
    BatchHandler,
    Handler,
    Settler,
)
from soleflip.common.errors import SoleflipError, Unavailable

log = structlog.get_logger(__name__)

DEFAULT_NAK_DELAYS: tuple[float, ...] = (1.0, 5.0, 30.0, 60.0)
#: First and longest wait between tries while a dependency is down.
DEFAULT_OUTAGE_BACKOFF = (0.5, 10.0)
#: How long messages are held through one outage before they spend a delivery after all: a
#: dependency that fails for one message only (StockX 5xx on one listing) must not stall for good.
DEFAULT_MAX_HOLD_S = 3600.0
_SILENT_FETCHES_BEFORE_RESUBSCRIBE = 2
#: How long the no-wait top-up request may take to be answered (the server answers at once).
_TOP_UP_S = 0.05
#: How long after its client-side timeout a pull request may still deliver: the server counts
#: `expires` from when it receives the request, later than the client started its clock.
_LATE_DELIVERY_S = 0.5


class ConsumerRunner:
    """Runs one durable pull consumer `<service>-<purpose>` until `stop()`.

    Give `handler` (one message at a time, in stream order) or `batch_handler` (the whole fetched
    batch, returning one `Outcome` per message; if it raises on data, the batch is bisected until
    the failing message is alone, see `settle.call_batch`).
    """

    def __init__(
        self,
        nc: Client,
        names: Names,
        *,
        stream: str,
        durable: str,
        subjects: Sequence[str],
        handler: Handler | None = None,
        batch_handler: BatchHandler | None = None,
        batch_size: int = 100,
        max_deliver: int = 5,
        ack_wait: float = 30.0,
        nak_delays: Sequence[float] = DEFAULT_NAK_DELAYS,
        max_ack_pending: int = 1000,
        fetch_timeout: float = 2.0,
        publisher: Publisher | None = None,
        outage_backoff: tuple[float, float] = DEFAULT_OUTAGE_BACKOFF,
        max_hold: float = DEFAULT_MAX_HOLD_S,
    ) -> None:
        if (handler is None) == (batch_handler is None):
            raise ValueError("give exactly one of handler or batch_handler")
        if not subjects:
            raise ValueError("a consumer needs at least one filter subject")
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream()
        self._names = names
        self.stream, self.durable = stream, durable
        self._stream_name, self._durable_name = names.stream(stream), names.durable(durable)
        self._subjects = [names.subject(s) for s in subjects]
        self._batch_size, self._max_deliver, self._ack_wait = batch_size, max_deliver, ack_wait
        self._max_ack_pending, self._fetch_timeout = max_ack_pending, fetch_timeout
        self._top_up_request = msgspec.json.encode({"batch": batch_size - 1, "no_wait": True})
        self._settler = Settler(
            stream=stream,
            durable=durable,
            durable_name=self._durable_name,
            max_deliver=max_deliver,
            nak_delays=nak_delays,
            publisher=publisher or Publisher(self._js, names),
            acks=TurnWriter.of(nc),
        )
        self._sub: JetStreamContext.PullSubscription | None = None
        self._reconnects_seen = 0
        self._silent_fetches = 0
        self._pull_open_until = 0.0  # monotonic time the last pull request may deliver until
        self._stopping = asyncio.Event()
        self._processor = Processor(
            durable=durable,
            durable_name=self._durable_name,
            settler=self._settler,
            handler=handler,
            batch_handler=batch_handler,
            max_deliver=max_deliver,
            ack_wait=ack_wait,
            outage_backoff=outage_backoff,
            max_hold=max_hold,
            stopping=self._stopping,
        )
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Create or update the consumer and start fetching; raises if JetStream refuses."""
        if self.running:
            return
        try:
            await self._subscribe()
        except SoleflipError:
            raise
        except Exception as exc:
            raise Unavailable(f"consumer {self._durable_name}: {exc!r}") from exc
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"consumer:{self._durable_name}")

    async def stop(self, grace: float = 30.0) -> None:
        """Stop fetching, finish the message in hand (NAK the rest of the batch), then return.

        A handler still running after `grace` seconds is cancelled and its message NAKed.
        """
        self._stopping.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=grace)
            if not done:
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=5.0)
            self._task = None
        await self._hand_back_late_deliveries()
        await self._unsubscribe()
        with contextlib.suppress(Exception):
            # Acks are fire-and-forget publishes: push them onto the wire before returning.
            await self._nc.flush(timeout=2)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _hand_back_late_deliveries(self) -> None:
        """NAK what a pull request delivered after the fetch loop ended, before unsubscribing.

        A fetch (the top-up above all) returns at its own deadline while the server may keep
        the request open a little longer; what it delivers then waits in the subscription's
        buffer for the next fetch. On shutdown there is none: dropped with the subscription,
        those messages would be held from every replica for `ack_wait`.
        """
        sub = self._sub
        while sub is not None:
            late = [Message.from_nats(m, self._names) for m in _take_buffered(sub)]
            await self._settler.drain(late)
            if time.monotonic() >= self._pull_open_until:
                return
            await asyncio.sleep(0.05)

    # -- subscription -----------------------------------------------------------------------

    def _consumer_config(self) -> ConsumerConfig:
        single = len(self._subjects) == 1
        return ConsumerConfig(
            name=self._durable_name,
            durable_name=self._durable_name,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait,
            max_deliver=self._max_deliver + 1,  # the reserve delivery: see the module docstring
            max_ack_pending=self._max_ack_pending,
            filter_subject=self._subjects[0] if single else None,
            filter_subjects=None if single else list(self._subjects),
        )

    async def _subscribe(self) -> None:
        await self._unsubscribe()
        # Create-or-update: also brings back a consumer deleted while we were away.
        await self._js.add_consumer(self._stream_name, self._consumer_config())
        self._sub = await self._js.pull_subscribe_bind(
            durable=self._durable_name, stream=self._stream_name
        )
        self._reconnects_seen = self._nc.stats["reconnects"]
        self._silent_fetches = 0

    async def _unsubscribe(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    # -- fetch loop -------------------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                msgs = await self._fetch()
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("nats.fetch_failed", consumer=self._durable_name, error=repr(exc))
                await self._unsubscribe()
                await self._pause(min(0.25 * 2**failures, 5.0))
                continue
            if msgs:
                try:
                    await self._process(msgs)
                except Exception:
                    # A bug here must not end the loop; unsettled messages return after ack_wait.
                    log.exception("nats.process_failed", consumer=self._durable_name)

    async def _fetch(self) -> list[Msg]:
        if not self._nc.is_connected:
            await self._pause(0.25)
            return []
        if self._sub is None or self._nc.stats["reconnects"] != self._reconnects_seen:
            if self._sub is not None:
                RESUBSCRIBES.labels(self._durable_name).inc()
                log.info("nats.resubscribe", consumer=self._durable_name)
            await self._subscribe()
        assert self._sub is not None
        # Messages already buffered prove the server is there; asking for heartbeats then makes
        # nats-py send a no-wait pull without `expires`, which the server refuses (400
        # "heartbeat value too large") and the drained messages would wait out `ack_wait`.
        heartbeat = None if self._sub.pending_msgs else max(self._fetch_timeout / 4, 0.1)
        self._pull_open_until = time.monotonic() + self._fetch_timeout + _LATE_DELIVERY_S
        try:
            # Wait for one message only: a fetch of n lingers until n arrived or the timeout
            # passed, holding a trickle of events for up to `fetch_timeout`; the top-up then
            # takes whatever else is already waiting, up to the batch size.
            msgs = await self._sub.fetch(1, timeout=self._fetch_timeout, heartbeat=heartbeat)
        except FetchTimeoutError:
            self._silent_fetches = 0  # heartbeats came: the server is there, the stream is idle
            return []
        except TimeoutError:
            self._silent_fetches += 1
            if self._silent_fetches >= _SILENT_FETCHES_BEFORE_RESUBSCRIBE:
                RESUBSCRIBES.labels(self._durable_name).inc()
                log.warning("nats.consumer_silent", consumer=self._durable_name)
                await self._unsubscribe()
            return []
        self._silent_fetches = 0
        if self._batch_size > 1:
            self._pull_open_until = time.monotonic() + _TOP_UP_S + _LATE_DELIVERY_S
            msgs += await self._top_up(self._sub)
        return msgs

    async def _top_up(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """Up to a batch more, of what the stream holds now: a no-wait pull request without
        `expires`, which the server answers at once with what it has, then a status.

        nats-py's `fetch` adds `expires` whenever its buffer is empty, and the server then waits
        for the next message: each event of a trickle waited up to `_TOP_UP_S` for the one
        after it. (nats-py has no public way to send the request or read its answer.)
        """
        await self._nc.publish(sub._nms, self._top_up_request, sub._deliver)
        queue = sub._sub._pending_queue
        taken: list[Msg] = []
        deadline = time.monotonic() + _TOP_UP_S
        while len(taken) < self._batch_size - 1:
            if queue.empty():
                try:
                    msg = await asyncio.wait_for(queue.get(), deadline - time.monotonic())
                except TimeoutError:
                    break  # no answer yet: what it brings later waits for the next fetch
            else:
                msg = queue.get_nowait()
            sub._sub._pending_size -= len(msg.data)
            if JetStreamContext.is_status_msg(msg):
                break  # 404 "no messages": the end of the answer (or of an earlier request)
            taken.append(msg)
        return taken

    async def _pause(self, seconds: float) -> None:
        # Sleep, but wake up at once when stop() is called.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    # -- processing -------------------------------------------------------------------------

    async def _process(self, msgs: Sequence[Msg]) -> None:
        await self._processor.process([Message.from_nats(m, self._names) for m in msgs])


def _take_buffered(sub: JetStreamContext.PullSubscription) -> list[Msg]:
    """The messages waiting in a subscription's buffer (nats-py has no public way to take
    them); status messages (heartbeats, timeouts) are dropped."""
    queue = sub._sub._pending_queue
    taken = []
    while not queue.empty():
        msg = queue.get_nowait()
        if not JetStreamContext.is_status_msg(msg):
            taken.append(msg)
    return taken
