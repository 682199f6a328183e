"""Processing one fetched batch: call the handler, settle each message, hold through outages.

The consumer runner (`consumer.py`) fetches; this hands what it fetched to the handler and
applies the verdicts (ARCHITECTURE.md section 5), inside one span and one log context per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence

import structlog
from opentelemetry import trace

from soleflip.common.bus._outage import OutageWait
from soleflip.common.bus._spans import (
    batch_span,
    current,
    message_span,
    record_outcome,
    start_message_span,
)
from soleflip.common.bus.message import Message, Outcome
from soleflip.common.bus.metrics import HANDLER_SECONDS
from soleflip.common.bus.settle import (
    BatchHandler,
    Handler,
    Settler,
    call,
    call_batch,
    exhausted,
)

_NO_SPAN = trace.INVALID_SPAN
_Attempt = Callable[[Sequence[Message]], Awaitable[list[Outcome]]]


class Processor:
    """Runs one consumer's handler (single or batch) on what the runner fetched."""

    def __init__(
        self,
        *,
        durable: str,
        durable_name: str,
        settler: Settler,
        handler: Handler | None,
        batch_handler: BatchHandler | None,
        max_deliver: int,
        ack_wait: float,
        outage_backoff: tuple[float, float],
        max_hold: float,
        stopping: asyncio.Event,
    ) -> None:
        self._durable, self._durable_name = durable, durable_name
        self._settler = settler
        self._handler, self._batch_handler = handler, batch_handler
        self._max_deliver, self._ack_wait = max_deliver, ack_wait
        self._outage_backoff, self._max_hold = outage_backoff, max_hold
        self._stopping = stopping

    async def process(self, messages: list[Message]) -> None:
        """Handle and settle a fetched batch; on cancellation hand back what is unsettled."""
        # Every message in hand stays ours while earlier ones are handled or held.
        async with self._in_progress(messages):
            try:
                if self._batch_handler is not None:
                    await self._process_batch(self._batch_handler, messages)
                else:
                    await self._process_each(messages)
            except asyncio.CancelledError:
                await self._settler.drain(messages)  # stop() timed out: another replica's now
                raise

    async def _process_each(self, messages: list[Message]) -> None:
        for index, message in enumerate(messages):
            if self._stopping.is_set():
                await self._settler.drain(messages[index:])
                return
            await self._process_one(message)

    async def _process_one(self, message: Message) -> None:
        handler = self._handler
        assert handler is not None
        if message.num_delivered > self._max_deliver:
            await self._settler.settle(message, Outcome.dead(exhausted(message)))
            return

        async def attempt(batch: Sequence[Message]) -> list[Outcome]:
            return [await call(handler, batch[0])]

        with (
            structlog.contextvars.bound_contextvars(**self._settler.log_context(message)),
            message_span(self._durable, message) as span,
        ):
            await self._settle_holding([message], attempt, {message.stream_seq: span})

    async def _process_batch(self, handler: BatchHandler, messages: list[Message]) -> None:
        spent = [m for m in messages if m.num_delivered > self._max_deliver]
        live = [m for m in messages if m.num_delivered <= self._max_deliver]
        for message in spent:
            with structlog.contextvars.bound_contextvars(**self._settler.log_context(message)):
                await self._settler.settle(message, Outcome.dead(exhausted(message)))
        if not live:
            return

        async def attempt(batch: Sequence[Message]) -> list[Outcome]:
            return await call_batch(handler, batch)

        with (
            structlog.contextvars.bound_contextvars(
                consumer=self._durable_name, batch_size=len(live)
            ),
            batch_span(self._durable, live) as batch,
        ):
            batch_link = [trace.Link(batch.get_span_context())] if batch.is_recording() else []
            spans = {m.stream_seq: start_message_span(self._durable, m, batch_link) for m in live}
            try:
                await self._settle_holding(live, attempt, spans)
            finally:
                for span in spans.values():
                    span.end()

    async def _settle(self, message: Message, outcome: Outcome, span: trace.Span | None) -> None:
        """Settle in the message's own log context and span (its outcome recorded on it)."""
        with (
            structlog.contextvars.bound_contextvars(**self._settler.log_context(message)),
            current(message, span) if span else contextlib.nullcontext(),
        ):
            if span is not None:
                record_outcome(span, outcome)
            await self._settler.settle(message, outcome)

    async def _settle_holding(
        self,
        messages: Sequence[Message],
        attempt: _Attempt,
        spans: Mapping[int, trace.Span],
    ) -> None:
        """Run `attempt` and settle its outcomes. Messages it holds (a dependency is down) are
        kept in hand, no delivery spent and nothing fetched meanwhile, and tried again after a
        backoff step until the dependency answers; on stop they are handed back at once."""
        outage = OutageWait(
            self._durable_name,
            backoff=self._outage_backoff,
            max_hold=self._max_hold,
            stopping=self._stopping,
        )
        pending, error = list(messages), None
        try:
            while pending:
                started = time.perf_counter()
                outcomes = await attempt(pending)
                HANDLER_SECONDS.labels(self._durable_name).observe(time.perf_counter() - started)
                held: list[Message] = []
                acked: list[Message] = []
                for message, outcome in zip(pending, outcomes, strict=True):
                    if outcome.kind == "hold" and not outage.expired:
                        held.append(message)
                        error = outcome.error
                    elif outcome.kind == "ack":  # settled together, after the loop
                        record_outcome(spans.get(message.stream_seq, _NO_SPAN), outcome)
                        acked.append(message)
                    else:
                        await self._settle(message, outcome, spans.get(message.stream_seq))
                if acked:
                    await self._settler.ack_many(acked)
                pending = held
                if pending and not await outage.wait(error, len(pending)):
                    await self._settler.drain(pending)
                    return
        finally:
            outage.end()

    @contextlib.asynccontextmanager
    async def _in_progress(self, messages: Sequence[Message]) -> AsyncIterator[None]:
        """While the handler runs, tell the server every ack_wait/3 that we are still working."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(self._ack_wait / 3)
                for message in messages:
                    if not message.raw.is_acked:
                        with contextlib.suppress(Exception):
                            await message.raw.in_progress()

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
