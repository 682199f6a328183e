"""The replica-test harness: N `soleflip serve <service>` replicas on one test's database, NATS
prefix and StockX simulator, one of them killed mid-burst, and the checks every replica test
makes afterwards (every event applied once, every outbox row on its stream once, no dead letter).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from soleflip.common.bus import Names, Outgoing, Publisher, connect, ensure_streams, stream_spec
from soleflip.common.contracts import uuid7
from tests.reliability._procs import (
    LeaderKey,
    ServiceProcess,
    gaps,
    leader_key,
    migrated_db,
    replicas,
    service_env,
    start_all,
    wait_for_leader,
)
from tests.support.sim import Sim, simulator_process
from tests.support.wait import until

REPLICAS = 3
UNPUBLISHED_SQL = "SELECT count(*) FROM outbox WHERE published_at IS NULL"


def cloud_event(subject: str, type_: str, data: Any, at: datetime | None = None) -> Outgoing:
    """One CloudEvent on `subject` with a fresh UUIDv7 id (also its `Nats-Msg-Id`)."""
    event_id = uuid7()
    body = {"specversion": "1.0", "id": event_id, "source": "test", "type": type_,
            "time": (at or datetime.now(UTC)).isoformat(), "data": data}  # fmt: skip
    return Outgoing(subject, msgspec.json.encode(body), event_id)


@dataclass(slots=True)
class ReplicaSet:
    """The replicas of one service under test, their database (search path = the service's
    schema), the simulator they call, and the test's NATS."""

    service: str
    procs: list[ServiceProcess]
    db: asyncpg.Connection
    sim: Sim
    nats_url: str
    names: Names

    @property
    def dsn(self) -> str:
        return self.procs[0].env["SOLEFLIP_DATABASE_URL"]

    def leader_key(self, task: str) -> LeaderKey:
        return leader_key(self.names, self.service, task)

    async def leader(
        self, task: str, among: Sequence[ServiceProcess] | None = None
    ) -> ServiceProcess:
        """The replica leading `task` once one does (among `among`, default all)."""
        return await wait_for_leader(self.dsn, self.leader_key(task), among or self.procs)

    def survivors(self, victim: ServiceProcess) -> list[ServiceProcess]:
        return [p for p in self.procs if p is not victim]

    @contextlib.asynccontextmanager
    async def started(self, *streams: str) -> AsyncIterator[Publisher]:
        """Create `streams`, start every replica, and yield a publisher on the test's NATS."""
        nc = await connect((self.nats_url,), name="test-publisher")
        try:
            specs = [stream_spec(s) for s in streams]
            await ensure_streams(nc.jetstream(), self.names, specs=specs)
            await start_all(self.procs)
            yield Publisher(nc.jetstream(), self.names)
        finally:
            await nc.close()

    async def kill_when_consuming(
        self, victim: ServiceProcess, inbox_sql: str, above: int | None = None
    ) -> None:
        """SIGKILL `victim` as soon as the inbox holds more than `above` (default: now) events."""
        floor = int(await self.db.fetchval(inbox_sql)) if above is None else above

        async def consuming() -> bool:
            return int(await self.db.fetchval(inbox_sql)) > floor

        await until(consuming, 30, what="the replicas consume", interval=0.01)
        victim.kill()

    async def wait_applied(
        self,
        survivors: Sequence[ServiceProcess],
        done: Callable[[], Awaitable[bool]],
        within: float,
        what: str = "every event applied",
    ) -> None:
        """Wait for `done()`, failing at once (with their logs) if a survivor dies meanwhile."""

        async def settled() -> bool:
            assert all(p.running for p in survivors), "\n".join(p.tail() for p in survivors)
            return await done()

        await until(settled, within, what=what, interval=0.2)

    async def stream_messages(self, stream: str) -> int:
        nc = await connect((self.nats_url,), name="test-reader")
        try:
            info = await nc.jetstream().stream_info(self.names.stream(stream))
            return int(info.state.messages)
        finally:
            await nc.close()

    async def assert_outbox_published_once(self, stream: str) -> int:
        """Every outbox row is on `stream` exactly once although every replica relays; nothing
        was dead-lettered. Returns the number of outbox rows."""

        async def published() -> bool:
            return int(await self.db.fetchval(UNPUBLISHED_SQL)) == 0

        await until(published, 15, what="the outbox published", interval=0.2)
        outbox = int(await self.db.fetchval("SELECT count(*) FROM outbox"))
        assert await self.stream_messages(stream) == outbox, "an outbox row twice"
        assert await self.stream_messages("DLQ") == 0
        return outbox


@contextlib.asynccontextmanager
async def replica_set(
    service: str,
    *,
    dsn: str,
    nats_url: str,
    names: Names,
    logs: Path,
    seed: int,
    products: int,
    **env: str,
) -> AsyncIterator[ReplicaSet]:
    """A seeded simulator (`products` products, no orders or listings), `service` migrated into
    `dsn`, and `REPLICAS` replicas (not started) configured with `env` on top of the test's."""
    with simulator_process() as url:
        sim = Sim(url)
        sim.seed(seed, products)
        async with migrated_db(dsn, service) as db:
            procs_env = service_env(dsn, nats_url, names, url, **env)
            with replicas(service, procs_env, REPLICAS, logs) as procs:
                yield ReplicaSet(service, procs, db, sim, nats_url, names)


def assert_one_poller(
    times: list[float], killed_at: float, what: str, *, takeover_s: float, min_gap_s: float
) -> None:
    """Calls of one poll, before and after the kill: the leader polled before it, a survivor
    took over within `takeover_s`, and no two polls came closer than one poller allows."""
    before = [t for t in times if t < killed_at]
    after = [t for t in times if t >= killed_at]
    assert len(before) >= 2, f"{what}: the leader polled {len(before)} times before the kill"
    assert after, f"{what}: nobody polled after the leader was killed"
    takeover = after[0] - killed_at
    assert takeover < takeover_s, f"{what}: the first poll {takeover:.1f} s after the kill"
    # A poll right after the kill is a handover, not a second poller: only steady gaps count.
    for window in (before, after):
        short = [round(g, 2) for g in gaps(window) if g < min_gap_s]
        assert not short, f"{what}: polls {short} s apart: more than one poller"
