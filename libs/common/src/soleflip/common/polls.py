"""When each StockX poller of a service last ran, how it ended and when it runs next.

The leader that polls records every run in the service's `poll_state` table (resource
`poll:<kind>`, beside the pollers' cursors), so any replica answers `GET /api/v1/polls`, not only
the one that polls, and the record outlives a change of leader. A failed write is logged and
never fails the poll: the record is for operators, the poll is the work.

Every polling service mounts the same route (`polls_route`), listing the kinds it declared
(`ServiceRuntime.poll_log`) with nulls until their first run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import asyncpg
import msgspec
from litestar import get
from litestar.handlers import HTTPRouteHandler

from soleflip.common.clock import Clock, utc_now
from soleflip.common.db import DB_ERRORS, Conn, get_poll_state, poll_states, set_poll_state
from soleflip.common.http import requires
from soleflip.common.observability import get_logger

log = get_logger(__name__)
PREFIX = "poll:"
#: Outcomes of a finished run: it went through; it failed (retried sooner); StockX as a whole
#: was unavailable or the budget spent (nothing counted against items; the run waits).
OUTCOMES = ("ok", "failed", "paused")


class PollRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The last run of one poller kind; `running` while a run has started and not finished."""

    kind: str
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    #: Runs in a row that did not end `ok`.
    failures: int = 0
    next_at: datetime | None = None
    running: bool = False


class PollLog:
    """Records the runs of one kind through the pool `pool()` opens (the service's lifespan)."""

    def __init__(
        self, kind: str, pool: Callable[[], asyncpg.Pool], *, now: Clock = utc_now
    ) -> None:
        self.kind, self._pool, self._now = kind, pool, now
        self._record: PollRecord | None = None

    async def started(self) -> None:
        """A run starts now (a new leader first reads what the previous one recorded)."""
        if self._record is None:
            self._record = await self._load()
        base = self._record or PollRecord(kind=self.kind)
        await self._save(msgspec.structs.replace(base, last_started_at=self._now(), running=True))

    async def finished(self, outcome: str, *, next_in_s: float, error: str | None = None) -> None:
        """The run ended with `outcome` (one of `OUTCOMES`); the next starts in `next_in_s`."""
        base = self._record or PollRecord(kind=self.kind)
        now = self._now()
        await self._save(
            msgspec.structs.replace(
                base,
                last_finished_at=now,
                last_outcome=outcome,
                last_error=error[:500] if error else None,
                failures=0 if outcome == "ok" else base.failures + 1,
                next_at=now + timedelta(seconds=max(0.0, next_in_s)),
                running=False,
            )
        )

    async def _load(self) -> PollRecord | None:
        try:
            async with self._pool().acquire() as conn:
                state = await get_poll_state(conn, PREFIX + self.kind)
        except DB_ERRORS as exc:
            log.warning("poll.record_unreadable", kind=self.kind, error=repr(exc))
            return None
        return None if state is None else msgspec.convert(state, PollRecord)

    async def _save(self, record: PollRecord) -> None:
        self._record = record
        try:
            async with self._pool().acquire() as conn:
                await set_poll_state(conn, PREFIX + self.kind, msgspec.to_builtins(record))
        except DB_ERRORS as exc:
            log.warning("poll.record_failed", kind=self.kind, error=repr(exc))


async def read_polls(conn: Conn, kinds: Iterable[str] = ()) -> list[PollRecord]:
    """Every recorded kind, and each of `kinds` not run yet (all nulls), by kind."""
    raw = (await poll_states(conn, PREFIX)).values()
    found = {r.kind: r for r in (msgspec.json.decode(doc, type=PollRecord) for doc in raw)}
    for kind in kinds:
        found.setdefault(kind, PollRecord(kind=kind))
    return [found[kind] for kind in sorted(found)]


def polls_route(
    pool: Callable[[], asyncpg.Pool], kinds: Callable[[], Iterable[str]]
) -> HTTPRouteHandler:
    """`GET /api/v1/polls` of a service: `read_polls` over its pool, for `read` tokens."""

    @get("/api/v1/polls", guards=[requires("read")], tags=["polls"])
    async def list_polls() -> list[PollRecord]:
        """When each StockX poller of this service last ran, how it ended, when it runs next."""
        async with pool().acquire() as conn:
            return await read_polls(conn, kinds())

    return list_polls
