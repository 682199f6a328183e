"""The JetStream streams of the contract (ARCHITECTURE.md section 5) and KV buckets.

Streams are created or brought back in line with their spec at start-up (`ensure_streams`), and
checked by readiness probes (`check_streams`): a publish to a subject no stream captures only
surfaces as a timeout, so a missing stream must be caught before traffic arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import structlog
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.errors import APIError, BadRequestError, BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from soleflip.common.bus.names import Names
from soleflip.common.errors import Conflict, Unavailable

log = structlog.get_logger(__name__)

HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One stream of the contract, by its contract name and subjects (namespaced on use)."""

    name: str
    subjects: tuple[str, ...]
    max_age: float
    duplicate_window: float
    description: str
    storage: StorageType = StorageType.FILE

    def config(self, names: Names, *, replicas: int = 1) -> StreamConfig:
        return StreamConfig(
            name=names.stream(self.name),
            description=self.description,
            subjects=[names.subject(s) for s in self.subjects],
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            max_age=self.max_age,
            duplicate_window=self.duplicate_window,
            storage=self.storage,
            num_replicas=replicas,
        )


# Duplicate windows: JetStream keeps every Nats-Msg-Id of the window in memory, so the window is
# as long as duplicates realistically arrive and no longer; consumers' inbox tables catch the rest.
# INGEST: 1 h, because webhook senders retry with growing back-off (Svix: 5 s, 5 min, 30 min, ...)
# and n8n re-runs; at webhook volumes an hour of ids costs little memory.
# Outbox streams: 15 min covers a relay that crashed after publishing and republishes on restart.
# DLQ: 1 h, so a consumer that dies between the DLQ copy and the TERM does not copy twice.
STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("INGEST", ("ingest.>",), 14 * DAY, HOUR, "Events accepted by ingest"),
    StreamSpec("CATALOG", ("catalog.>",), 30 * DAY, 15 * 60.0, "catalog outbox events"),
    StreamSpec("ORDERS", ("orders.>",), 30 * DAY, 15 * 60.0, "orders outbox events"),
    StreamSpec("PRICING", ("pricing.>",), 30 * DAY, 15 * 60.0, "pricing outbox events"),
    StreamSpec("DLQ", ("dlq.>",), 30 * DAY, HOUR, "Dead letters of every consumer"),
)

StreamAction = Literal["created", "updated", "unchanged"]


def stream_spec(name: str, specs: Sequence[StreamSpec] = STREAMS) -> StreamSpec:
    """The spec of a contract stream name (`INGEST`)."""
    for spec in specs:
        if spec.name == name:
            return spec
    raise KeyError(f"no stream spec named {name!r}")


def _drift(want: StreamConfig, have: StreamConfig) -> list[str]:
    """Fields whose live value differs from the spec (only the fields the spec sets)."""
    fields = ("description", "retention", "discard", "max_age", "duplicate_window", "storage")
    changed = [f for f in fields if getattr(want, f) != getattr(have, f)]
    if sorted(want.subjects or []) != sorted(have.subjects or []):
        changed.append("subjects")
    if (want.num_replicas or 1) != (have.num_replicas or 1):
        changed.append("num_replicas")
    return changed


#: JetStream's error code for "subjects overlap with an existing stream".
_SUBJECTS_OVERLAP = 10065


async def _stream_info(js: JetStreamContext, name: str) -> StreamInfo | None:
    try:
        return await js.stream_info(name)
    except NotFoundError:
        return None


async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> StreamAction:
    assert config.name is not None
    info = await _stream_info(js, config.name)
    if info is None:
        try:
            await js.add_stream(config)
        except BadRequestError as exc:
            # Replicas starting together race here: JetStream refuses the loser's create of the
            # same stream as overlapping the winner's. Then check the winner's like any other.
            info = await _stream_info(js, config.name)
            if exc.err_code != _SUBJECTS_OVERLAP or info is None:
                raise
        else:
            log.info("nats.stream_created", stream=config.name)
            return "created"
    changed = _drift(config, info.config)
    if not changed:
        return "unchanged"
    if "storage" in changed:
        # JetStream cannot change storage in place; it needs a human (backup, recreate, restore).
        raise Conflict(
            f"stream {config.name}: storage is {info.config.storage}, spec wants {config.storage}"
        )
    # Start from the live config so fields the spec does not own (placement, metadata) survive.
    await js.update_stream(info.config.evolve(**{f: getattr(config, f) for f in changed}))
    log.warning("nats.stream_updated", stream=config.name, fields=changed)
    return "updated"


async def ensure_streams(
    js: JetStreamContext,
    names: Names,
    *,
    replicas: int = 1,
    specs: Sequence[StreamSpec] = STREAMS,
) -> dict[str, StreamAction]:
    """Create missing streams and correct drifted ones; returns what happened per contract name.

    Raises `Unavailable` when JetStream does not answer and `Conflict` for a change JetStream
    refuses (storage type, an overlapping subject of another stream).
    """
    actions: dict[str, StreamAction] = {}
    for spec in specs:
        try:
            actions[spec.name] = await _ensure_stream(js, spec.config(names, replicas=replicas))
        except APIError as exc:
            if exc.code == 503:
                raise Unavailable(f"JetStream unavailable: {exc}") from exc
            raise Conflict(f"stream {spec.name}: {exc.description}") from exc
        except (NatsError, TimeoutError) as exc:
            raise Unavailable(f"JetStream unavailable: {exc!r}") from exc
    return actions


async def check_streams(
    js: JetStreamContext,
    names: Names,
    *,
    specs: Sequence[StreamSpec] = STREAMS,
    within: float = 2.0,
) -> list[str]:
    """Problems that make the service not ready (empty when all is well), for `/health/ready`.

    Answers at once while the connection is down and within `within` seconds otherwise, so a
    probe never waits for JetStream's default 5 s request timeout.
    """
    if not js._nc.is_connected:
        return ["NATS is not connected"]
    try:
        async with asyncio.timeout(within):
            return await _stream_problems(js, names, specs)
    except TimeoutError:
        return [f"JetStream did not answer within {within:g} s"]


async def _stream_problems(
    js: JetStreamContext, names: Names, specs: Sequence[StreamSpec]
) -> list[str]:
    problems: list[str] = []
    for spec in specs:
        want = spec.config(names)
        assert want.name is not None
        try:
            info = await js.stream_info(want.name)
        except NotFoundError:
            problems.append(f"stream {want.name} is missing")
            continue
        except (NatsError, TimeoutError) as exc:
            problems.append(f"JetStream unavailable: {exc!r}")
            break
        if sorted(want.subjects or []) != sorted(info.config.subjects or []):
            problems.append(f"stream {want.name} does not capture {want.subjects}")
    return problems


async def ensure_kv(
    js: JetStreamContext,
    names: Names,
    bucket: str,
    *,
    history: int = 1,
    ttl: float | None = None,
    replicas: int = 1,
    description: str | None = None,
) -> KeyValue:
    """Open the KV bucket `bucket` (contract name), creating it or correcting history/TTL."""
    name = names.bucket(bucket)
    try:
        kv = await js.key_value(name)
    except BucketNotFoundError:
        return await js.create_key_value(
            bucket=name,
            history=history,
            ttl=ttl,
            replicas=replicas,
            description=description,
            storage=StorageType.FILE,
        )
    stream = f"KV_{name}"
    info = await js.stream_info(stream)
    max_age = ttl or 0.0
    if info.config.max_msgs_per_subject != history or (info.config.max_age or 0.0) != max_age:
        # The duplicate window may not exceed the TTL; KV buckets use min(2 min, ttl) like nats-py.
        window = min(120.0, ttl) if ttl else 120.0
        config = info.config.evolve(
            max_msgs_per_subject=history, max_age=max_age, duplicate_window=window
        )
        await js.update_stream(config)
        log.warning("nats.kv_updated", bucket=name, history=history, ttl=ttl)
    return kv
