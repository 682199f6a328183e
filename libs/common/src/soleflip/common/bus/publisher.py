"""Publishing to JetStream with de-duplication, bounded retries and pipelining.

Every publish carries `Nats-Msg-Id`; a timeout or no-responders is ambiguous (the message may be
stored), so it is retried a bounded number of times with the same id and the stream's duplicate
window absorbs the repeat. A connection that is closed or reconnecting fails fast: callers (a
webhook answering 503) must never hang for a whole reconnect period. Messages are published on
the core connection with a reply subject each (one wildcard subscription per publisher, a counter
token per message) and their PubAcks decoded with msgspec: nats-py's `publish_async` costs about
as much again per message. A round's messages go on nats-py's outgoing buffer and out in one
write at the end of the loop turn (`TurnWriter`), not through nats-py's `publish` and its flusher
task; too large or odd ones still take nats-py's `publish` (its checks and errors).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import msgspec
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import APIError, NoStreamResponseError, TooManyStalledMsgsError
from opentelemetry.propagate import inject

from soleflip.common.bus._replies import ReplyInbox
from soleflip.common.bus._writer import TurnWriter
from soleflip.common.bus.metrics import PUBLISHED
from soleflip.common.bus.names import Names
from soleflip.common.contracts import CloudEvent, encode_event
from soleflip.common.errors import SoleflipError, Unavailable

MSG_ID = "Nats-Msg-Id"

# Errors after which the message may or may not be stored: retry with the same Nats-Msg-Id.
_AMBIGUOUS: tuple[type[BaseException], ...] = (
    TimeoutError,
    NoStreamResponseError,
    TooManyStalledMsgsError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
)


class PublishRejected(SoleflipError):
    """JetStream refused the message for a reason a retry cannot fix (too large, wrong stream)."""

    status = 500
    title = "Publish rejected"


@dataclass(frozen=True, slots=True)
class PubResult:
    """JetStream's acknowledgement: where the message is stored, and whether it was a repeat.

    After an ambiguous timeout the retry may report `duplicate=True` for our own first attempt.
    """

    stream: str
    seq: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to publish: contract subject (namespaced on send), payload, id, headers."""

    subject: str
    payload: bytes
    msg_id: str
    headers: Mapping[str, str] | None = None


def event_message(
    subject: str, event: CloudEvent, *, headers: Mapping[str, str] | None = None
) -> Outgoing:
    """An event as a message: `Nats-Msg-Id` = event id, `ce-type`, W3C trace context."""
    hdrs = dict(headers or {})
    hdrs["ce-type"] = event.type
    inject(hdrs)  # traceparent/tracestate of the current span, so consumers continue the trace
    return Outgoing(subject, encode_event(event), event.id, hdrs)


_Result = PubResult | SoleflipError


class PubAckReply(msgspec.Struct):
    """What JetStream answers to a publish (`error` instead when it refused it)."""

    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: dict[str, Any] | None = None


#: A PubAck's JSON as a `PubAckReply` (raises `msgspec.DecodeError` on anything else).
decode_pub_ack = msgspec.json.Decoder(PubAckReply).decode
_NO_RESPONDERS = "503"


class _Round:
    """One pipelined attempt: where each reply goes (input index) and what came back."""

    __slots__ = ("done", "outcomes", "waiting")

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.outcomes: dict[int, PubResult | BaseException] = {}
        self.waiting = 0


class Publisher:
    """Publishes to JetStream under a `Names` namespace; see the module docstring for retries.

    `timeout` bounds each attempt's wait for PubAcks; a call takes at most about
    `attempts * (timeout + retry_pause * attempts)` seconds.
    """

    def __init__(
        self,
        js: JetStreamContext,
        names: Names,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        retry_pause: float = 0.2,
    ) -> None:
        self._js = js
        # nats-py has no public accessor for a context's connection; its state decides fail-fast.
        self._nc: Client = js._nc
        self._writer = TurnWriter.of(self._nc)
        self._names = names
        self._timeout = timeout
        self._attempts = attempts
        self._retry_pause = retry_pause
        # PubAcks come to one wildcard reply subscription, matched by a counter token: nats-py's
        # `publish_async` spends a semaphore, two random tokens, a done-callback, `json.loads`
        # and a dataclass per message (a third of the outbox relay's CPU).
        self._reply_prefix = ""
        self._subscribing: asyncio.Lock | None = None
        self._tokens = itertools.count()
        self._waiting: dict[str, tuple[_Round, int]] = {}

    async def publish(
        self,
        subject: str,
        payload: bytes,
        *,
        msg_id: str,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - per attempt, see the class docstring
    ) -> PubResult:
        """Publish one message and wait for its PubAck.

        Raises `Unavailable` (retry later) or `PublishRejected` (a retry cannot help).
        """
        message = Outgoing(subject, payload, msg_id, headers)
        return (await self.publish_many([message], timeout=timeout))[0]

    async def publish_event(
        self,
        subject: str,
        event: CloudEvent,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - per attempt, see the class docstring
    ) -> PubResult:
        """Publish a CloudEvent (see `event_message` for the headers it carries)."""
        message = event_message(subject, event, headers=headers)
        return (await self.publish_many([message], timeout=timeout))[0]

    @overload
    async def publish_many(
        self,
        messages: Sequence[Outgoing],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - per attempt, see the class docstring
        return_exceptions: Literal[False] = False,
    ) -> list[PubResult]: ...

    @overload
    async def publish_many(
        self,
        messages: Sequence[Outgoing],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - per attempt, see the class docstring
        return_exceptions: Literal[True],
    ) -> list[_Result]: ...

    async def publish_many(
        self,
        messages: Sequence[Outgoing],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - per attempt, see the class docstring
        return_exceptions: bool = False,
    ) -> list[PubResult] | list[_Result]:
        """Publish all messages pipelined (many PubAcks outstanding); results in input order.

        Returns only once every message is acknowledged or has failed for good. Like
        `asyncio.gather`: by default the first failure is raised (after all have settled);
        with `return_exceptions=True` failures are returned in place of their `PubResult`.
        """
        results = await self._publish_with_retries(messages, timeout or self._timeout)
        if return_exceptions:
            return results
        for result in results:
            if isinstance(result, SoleflipError):
                raise result
        return [r for r in results if isinstance(r, PubResult)]

    async def _publish_with_retries(
        self, messages: Sequence[Outgoing], ack_wait: float
    ) -> list[_Result]:
        settled: dict[int, _Result] = {}
        last_error: dict[int, BaseException] = {}
        pending = list(range(len(messages)))
        for attempt in range(1, self._attempts + 1):
            if attempt > 1:
                await asyncio.sleep(self._retry_pause * (attempt - 1))
            outcomes = await self._attempt(messages, pending, ack_wait)
            for index, outcome in outcomes.items():
                if isinstance(outcome, PubResult):
                    settled[index] = outcome
                elif isinstance(outcome, _AMBIGUOUS) or _is_unavailable_api_error(outcome):
                    last_error[index] = outcome
                else:
                    settled[index] = _rejected(messages[index], outcome)
            pending = [i for i in pending if i not in settled]
            if not pending:
                break
        for index in pending:
            settled[index] = _unavailable(messages[index], last_error[index], self._attempts)
        _count(settled.values())
        return [settled[i] for i in range(len(messages))]

    async def _attempt(
        self, messages: Sequence[Outgoing], indices: Sequence[int], ack_wait: float
    ) -> dict[int, PubResult | BaseException]:
        """One pipelined round: send every message, then wait (bounded) for all PubAcks."""
        if not self._nc.is_connected:
            # Reconnecting buffers publishes silently; fail now instead of waiting on acks.
            closed = self._nc.is_closed
            error = (
                nats.errors.ConnectionClosedError()
                if closed
                else nats.errors.ConnectionReconnectingError()
            )
            return dict.fromkeys(indices, error)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ack_wait
        try:
            prefix = await self._replies()
        except Exception as exc:
            return dict.fromkeys(indices, exc)
        attempt = _Round(loop.create_future())
        tokens: list[str] = []
        write_soon, publish, waiting = self._writer.write_soon, self._nc.publish, self._waiting
        try:
            for index in indices:
                message = messages[index]
                headers = dict(message.headers or {})
                headers[MSG_ID] = message.msg_id
                token = str(next(self._tokens))
                waiting[token] = (attempt, index)
                subject, reply = self._names.subject(message.subject), prefix + token
                try:
                    if not write_soon(subject, message.payload, reply, headers):
                        await publish(subject, message.payload, reply=reply, headers=headers)
                except Exception as exc:
                    del waiting[token]
                    attempt.outcomes[index] = exc
                    continue
                tokens.append(token)
                attempt.waiting += 1
            if attempt.waiting:
                await asyncio.wait({attempt.done}, timeout=max(deadline - loop.time(), 0.0))
        finally:
            for token in tokens:
                unanswered = waiting.pop(token, None)  # a late PubAck is then ignored
                if unanswered is not None:
                    attempt.outcomes[unanswered[1]] = TimeoutError("no PubAck in time")
            attempt.done.cancel()
        return attempt.outcomes

    async def _replies(self) -> str:
        """The reply prefix, subscribed on first use (a core subscription: nats-py re-creates
        it after a reconnect; its PubAcks are handled in nats-py's read loop, `ReplyInbox`)."""
        if self._reply_prefix:
            return self._reply_prefix
        if self._subscribing is None:
            self._subscribing = asyncio.Lock()
        async with self._subscribing:
            if not self._reply_prefix:
                prefix = f"{self._nc.new_inbox()}."
                await self._nc.subscribe(prefix + "*", future=ReplyInbox(self._on_reply))
                self._reply_prefix = prefix
        return self._reply_prefix

    def _on_reply(self, msg: Msg) -> None:
        # Runs inside nats-py's read loop (`ReplyInbox`): it raises nothing.
        found = self._waiting.pop(msg.subject[len(self._reply_prefix) :], None)
        if found is None:
            return  # the round gave up on it (timeout) or it is not ours
        attempt, index = found
        attempt.outcomes[index] = _outcome(msg)
        attempt.waiting -= 1
        if attempt.waiting == 0 and not attempt.done.done():
            attempt.done.set_result(None)


def _outcome(msg: Msg) -> PubResult | BaseException:
    if msg.headers and msg.headers.get("Status") == _NO_RESPONDERS:
        return NoStreamResponseError()
    try:
        ack = decode_pub_ack(msg.data)
    except msgspec.DecodeError as exc:
        return exc
    if ack.error is not None:
        refused: BaseException = APIError.from_error(ack.error)
        return refused
    return PubResult(ack.stream, ack.seq, ack.duplicate)


def _is_unavailable_api_error(exc: BaseException) -> bool:
    return isinstance(exc, APIError) and exc.code == 503


def _rejected(message: Outgoing, exc: BaseException) -> PublishRejected:
    error = PublishRejected(f"JetStream refused {message.subject} ({message.msg_id}): {exc}")
    error.__cause__ = exc
    return error


def _unavailable(message: Outgoing, exc: BaseException, attempts: int) -> Unavailable:
    detail = f"publish of {message.subject} ({message.msg_id}) failed {attempts} times: {exc!r}"
    error = Unavailable(detail, headers={"Retry-After": "5"})
    error.__cause__ = exc
    return error


def _count(results: Iterable[_Result]) -> None:
    for result in results:
        if isinstance(result, PubResult):
            PUBLISHED.labels("duplicate" if result.duplicate else "stored").inc()
        elif isinstance(result, Unavailable):
            PUBLISHED.labels("unavailable").inc()
        else:
            PUBLISHED.labels("rejected").inc()
