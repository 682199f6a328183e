"""What ingest does with verified events: publish them to JetStream and report repeats.

`JetStreamSink` is the hot path: one pipelined publish per event (`AckTracker`: many PubAcks
outstanding across concurrent requests), one wait per request, bounded by the tracker. The
shared `Publisher` does the same with per-call bookkeeping (retries, dataclasses, counters) that
costs as much again as the HTTP handling, so it is only the fallback: when the fast attempt
fails ambiguously (timeout, no responders, a reconnect), the events are handed to it and
retried with the same `Nats-Msg-Id`, which JetStream de-duplicates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Protocol

import nats.errors
from nats.aio.client import Client

from soleflip.common.bus import MSG_ID, Names, Outgoing, Publisher, PublishRejected
from soleflip.common.errors import PayloadTooLarge, Unavailable
from soleflip.common.observability import get_logger
from soleflip.ingest.acks import AckTracker
from soleflip.ingest.domain import Event

RETRY_AFTER_S = "5"
_log = get_logger("soleflip.ingest")


class EventSink(Protocol):
    """Where verified events go (a fake in unit tests)."""

    async def publish(self, events: Sequence[Event], trace: Mapping[str, str]) -> list[bool]: ...


class JetStreamSink:
    """Publishes events to `ingest.*` under a `Names` namespace; see the module docstring."""

    def __init__(self, nc: Client, acks: AckTracker, names: Names, *, fallback: Publisher) -> None:
        self._nc = nc
        self._acks = acks
        self._names = names
        self._fallback = fallback
        self._subjects: dict[str, str] = {}  # bounded: `ingest.<known type>` and two sources

    async def publish(self, events: Sequence[Event], trace: Mapping[str, str]) -> list[bool]:
        """JetStream's `duplicate` flag per event, once every event is acknowledged.

        Raises `Unavailable` (503) when they cannot all be acknowledged: the sender retries the
        request, and what did get stored comes back as duplicates.
        """
        if not self._nc.is_connected:
            raise Unavailable("NATS is not connected", headers={"Retry-After": RETRY_AFTER_S})
        futures: list[asyncio.Future[bool]] = []
        try:
            for event in events:
                headers = {MSG_ID: event.id, "ce-type": event.type, **trace}
                subject = self._subject(event.subject)
                futures.append(await self._acks.publish(subject, event.payload, headers))
            # No timeout here: the tracker fails a future whose PubAck is late.
            if len(futures) == 1:
                return [await futures[0]]
            return list(await asyncio.gather(*futures))
        except nats.errors.MaxPayloadError:
            self._acks.forget(futures)
            raise PayloadTooLarge("an event exceeds the bus's limit (NATS max_payload)") from None
        except Unavailable:
            self._acks.forget(futures)
            raise
        except Exception as exc:  # timeouts, no responders, reconnects, API errors
            self._acks.forget(futures)
            return await self._retry(events, trace, exc)

    def _subject(self, subject: str) -> str:
        namespaced = self._subjects.get(subject)
        if namespaced is None:
            namespaced = self._subjects[subject] = self._names.subject(subject)
        return namespaced

    async def _retry(
        self, events: Sequence[Event], trace: Mapping[str, str], first: Exception
    ) -> list[bool]:
        _log.warning("fast publish failed; retrying through the publisher", error=repr(first))
        messages = [
            Outgoing(e.subject, e.payload, e.id, {"ce-type": e.type, **trace}) for e in events
        ]
        try:
            results = await self._fallback.publish_many(messages)
        except PublishRejected as exc:
            # Not fixable by the sender, but a retry after an operator's fix keeps the event.
            _log.error("JetStream rejected an event", detail=exc.detail)
            raise Unavailable(exc.detail, headers={"Retry-After": RETRY_AFTER_S}) from exc
        return [result.duplicate for result in results]
