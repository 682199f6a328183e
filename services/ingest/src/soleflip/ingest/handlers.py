"""What ingest does with verified events: publish them to JetStream and report repeats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from soleflip.common.bus.publisher import Outgoing, PubResult
from soleflip.ingest.domain import Event


class EventPublisher(Protocol):
    """The part of `soleflip.common.bus.Publisher` ingest needs (a fake in unit tests)."""

    async def publish_many(self, messages: Sequence[Outgoing]) -> list[PubResult]: ...


async def publish_events(
    events: Sequence[Event], *, publisher: EventPublisher, trace: Mapping[str, str]
) -> list[bool]:
    """Publish every event pipelined (`Nats-Msg-Id` = event id) and wait for all PubAcks.

    Returns JetStream's `duplicate` flag per event. Raises `Unavailable` when JetStream cannot
    acknowledge every event: the sender retries the whole request and the events that did get
    stored come back as duplicates, so nothing is stored twice within the duplicate window.
    """
    messages = [
        Outgoing(event.subject, event.payload, event.id, {"ce-type": event.type, **trace})
        for event in events
    ]
    results = await publisher.publish_many(messages)
    return [result.duplicate for result in results]
