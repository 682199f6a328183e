"""Applying a consumer's verdicts: ack, NAK with delay, or dead-letter copy then TERM.

Also where handlers are called: their exceptions become `Outcome`s here, so the mapping of
ARCHITECTURE.md section 5 lives in one place (`Outcome.from_error`) and one applier (`Settler`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence

import structlog

from soleflip.common.bus._writer import TurnWriter
from soleflip.common.bus.dlq import dead_letter_message
from soleflip.common.bus.message import Message, Outcome
from soleflip.common.bus.metrics import DEAD_LETTERS, MESSAGES
from soleflip.common.bus.publisher import Publisher
from soleflip.common.errors import SoleflipError

log = structlog.get_logger(__name__)

Handler = Callable[[Message], Awaitable[None]]
BatchHandler = Callable[[Sequence[Message]], Awaitable[Sequence[Outcome]]]


class DeliveriesExhausted(Exception):
    """A message came back after its last allowed delivery (a crash loop or a failed DLQ copy)."""


class Settler:
    """Settles messages for one consumer; counts every outcome in the bus metrics."""

    def __init__(
        self,
        *,
        stream: str,
        durable: str,
        durable_name: str,
        max_deliver: int,
        nak_delays: Sequence[float],
        publisher: Publisher,
        acks: TurnWriter,
    ) -> None:
        self.stream, self.durable, self._durable_name = stream, durable, durable_name
        self._acks = acks
        self._max_deliver = max_deliver
        self._nak_delays = tuple(nak_delays) or (0.0,)
        self._publisher = publisher

    async def settle(self, message: Message, outcome: Outcome) -> None:
        """Apply `outcome`; a retry on the last allowed delivery becomes a dead letter.

        A hold reaches here only once the runner stopped waiting (`max_hold`): it is a retry."""
        if outcome.kind == "hold":
            assert outcome.error is not None
            outcome = Outcome.retry(outcome.error)
        if outcome.kind == "retry" and message.num_delivered >= self._max_deliver:
            assert outcome.error is not None
            outcome = Outcome.dead(outcome.error)
        self._log_outcome(message, outcome)
        try:
            if outcome.kind == "ack":
                await message.raw.ack()
            elif outcome.kind == "retry":
                await message.raw.nak(delay=self._nak_delay(message, outcome))
            else:
                assert outcome.error is not None
                await self._dead_letter(message, outcome.error)
                return
        except Exception as exc:
            # The server redelivers after ack_wait; handlers are idempotent through their inbox.
            log.warning("nats.settle_failed", consumer=self._durable_name, error=repr(exc))
            return
        MESSAGES.labels(self._durable_name, outcome.kind).inc()

    async def ack_many(self, messages: Sequence[Message]) -> None:
        """ACK messages the handler applied, without a log context or span each (an ACK logs
        nothing): at a batch of 1,000 the per-message path was 9 % of orders' consumer CPU.
        Each ACK is still its own fire-and-forget publish (explicit ack policy), so a batch's
        retries and dead letters stay individual. They go through `acks` (the runner's
        `TurnWriter`): buffered as nats-py's `Msg.ack` publishes them, written in one go at the
        end of the loop turn, without its coroutines and flusher wake-up per message."""
        acked = 0
        write_soon = self._acks.write_soon
        for message in messages:
            raw = message.raw
            try:
                raw._check_reply()  # what `Msg.ack` checks first: a JetStream reply, not acked yet
                if not write_soon(raw.reply, b"", "", None):
                    await raw.ack()  # not connected: nats-py buffers it or raises, as it decides
                raw._ackd = True
            except Exception as exc:
                # The server redelivers after ack_wait; handlers are idempotent through their inbox.
                log.warning("nats.settle_failed", error=repr(exc), **self.log_context(message))
                continue
            acked += 1
        if acked:
            MESSAGES.labels(self._durable_name, "ack").inc(acked)

    async def _dead_letter(self, message: Message, error: BaseException) -> None:
        copy = dead_letter_message(message, stream=self.stream, consumer=self.durable, error=error)
        try:
            await self._publisher.publish_many([copy])
        except SoleflipError as exc:
            # Without a stored copy, TERM would lose the message: retry it via the reserve delivery.
            log.error("nats.dead_letter_failed", consumer=self._durable_name, error=repr(exc))
            await message.raw.nak(delay=self._nak_delays[-1])
            MESSAGES.labels(self._durable_name, "retry").inc()
            return
        await message.raw.term()
        MESSAGES.labels(self._durable_name, "dead_letter").inc()
        DEAD_LETTERS.labels(self._durable_name).inc()

    async def drain(self, messages: Sequence[Message]) -> None:
        """Hand unprocessed messages back at once (NAK without delay) on shutdown."""
        for message in messages:
            if not message.raw.is_acked:
                with contextlib.suppress(Exception):
                    await message.raw.nak()
                MESSAGES.labels(self._durable_name, "drained").inc()

    def _nak_delay(self, message: Message, outcome: Outcome) -> float:
        index = min(message.num_delivered, len(self._nak_delays)) - 1
        return max(self._nak_delays[max(index, 0)], outcome.delay or 0.0)

    def log_context(self, message: Message) -> dict[str, object]:
        return {
            "consumer": self._durable_name,
            "subject": message.subject,
            "event_id": message.event_id,
            "stream_seq": message.stream_seq,
            "delivery": message.num_delivered,
        }

    def _log_outcome(self, message: Message, outcome: Outcome) -> None:
        if outcome.kind == "ack":
            return
        level = "warning" if outcome.kind == "retry" else "error"
        getattr(log, level)(
            f"nats.message_{outcome.kind}",
            error=repr(outcome.error),
            exc_info=outcome.error if not outcome.expected else None,
            **self.log_context(message),
        )


async def call(handler: Handler, message: Message) -> Outcome:
    """Run a handler: returning means ACK, an exception maps through `Outcome.from_error`."""
    try:
        await handler(message)
    except Exception as exc:
        return Outcome.from_error(exc)
    return Outcome.ack()


async def call_batch(handler: BatchHandler, messages: Sequence[Message]) -> list[Outcome]:
    """Run a batch handler; if it raises on data, split the batch in halves and run each again.

    Batch handlers are transactional and idempotent through their inbox, so a failed call left
    nothing behind and calling them again on a part is safe. Bisecting down to single messages
    isolates a poison message: only it gets the error's outcome (dead letter or retry), every
    other message of the batch is applied once, in its stream order. A transient error or an
    outage (a dependency, not a message) is not split: every message not yet applied gets it.
    """
    try:
        outcomes = list(await handler(messages))
    except Exception as exc:
        outcome = Outcome.from_error(exc)
        if len(messages) == 1 or outcome.kind == "hold" or _is_transient(exc):
            return [outcome] * len(messages)
        log.info("nats.batch_split", size=len(messages), error=repr(exc))
        middle = len(messages) // 2
        head = await call_batch(handler, messages[:middle])
        if head and head[-1].kind == "hold":  # the dependency went away meanwhile
            return head + [head[-1]] * (len(messages) - middle)
        return head + await call_batch(handler, messages[middle:])
    if len(outcomes) != len(messages):
        error = RuntimeError(f"batch handler returned {len(outcomes)} outcomes for {len(messages)}")
        return [Outcome.retry(error)] * len(messages)
    return outcomes


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, SoleflipError) and error.transient


def exhausted(message: Message) -> DeliveriesExhausted:
    return DeliveriesExhausted(f"delivered {message.num_delivered} times without a verdict")
