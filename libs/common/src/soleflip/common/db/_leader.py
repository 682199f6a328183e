"""Leader election: one poller per resource across replicas, through a lease row per task in
the service's own schema (`leader`, a library migration).

Advisory locks would be simpler, but they are database-global: any role connected to the database
may take any key, so one service's role (or a bug in it) could hold another service's leader key
and stop its pollers. A row of `<schema>.leader` can only be written by roles with rights on that
schema, so a service's leadership is contested by its own replicas only.

The holder keeps one pooled connection for as long as it leads and records that session's
backend pid in the row. A campaigner takes the row over when the lease expired (the holder stopped
renewing: hung or partitioned) or at once when the holder's session is gone (a crash: Postgres
ends the session when the socket closes). A partitioned holder learns of the loss at its next
heartbeat, well before its lease expires (3 heartbeats); a short overlap of two leaders is still
possible when a process stalls, so work done as leader must stay idempotent (pollers upsert
through `updatedAt` guards).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

from soleflip.common.db._pool import DB_ERRORS

log = structlog.get_logger(__name__)

#: Take the row when it is free, expired, ours, or held by a session that no longer exists. Every
#: role sees every session's pid in pg_stat_activity (not its other columns), and a pid reused by
#: a new session only delays a takeover until the lease expires.
ACQUIRE_SQL = """
INSERT INTO leader AS l (key, holder, backend_pid, expires_at)
VALUES ($1, $2, pg_backend_pid(), now() + make_interval(secs => $3))
ON CONFLICT (key) DO UPDATE
SET holder = EXCLUDED.holder, backend_pid = EXCLUDED.backend_pid,
    acquired_at = now(), expires_at = EXCLUDED.expires_at
WHERE l.expires_at < now()
   OR (l.holder = EXCLUDED.holder AND l.backend_pid = EXCLUDED.backend_pid)
   OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.backend_pid)
RETURNING holder
"""
RENEW_SQL = """
UPDATE leader SET expires_at = now() + make_interval(secs => $3)
WHERE key = $1 AND holder = $2 AND backend_pid = pg_backend_pid()
RETURNING holder
"""
RELEASE_SQL = "DELETE FROM leader WHERE key = $1 AND holder = $2"
#: Missed heartbeats before a lease expires and another replica may take over.
LEASE_HEARTBEATS = 3


def _holder_id() -> str:
    """Who leads, for operators (`SELECT * FROM <schema>.leader`): host, pid, instance."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaderLock:
    """The lease row `key` of `<schema>.leader`, held through a dedicated connection of `pool`
    (whose search path is the service schema); `lost` is set when leadership ends.

    The leader keeps one connection of `pool` for as long as it leads: size the pool for it.
    """

    def __init__(self, pool: asyncpg.Pool, key: str, *, heartbeat: float = 5.0) -> None:
        self._pool = pool
        self._key = key
        self._holder = _holder_id()
        self._heartbeat_s = heartbeat
        self._lease_s = heartbeat * LEASE_HEARTBEATS
        self._conn: PoolConnectionProxy | None = None
        self._watch: asyncio.Task[None] | None = None
        self.lost = asyncio.Event()

    @property
    def held(self) -> bool:
        """True while this process is the leader for the key (as far as it can tell)."""
        return self._conn is not None and not self.lost.is_set()

    def __bool__(self) -> bool:
        return self.held

    async def acquire(self) -> bool:
        """Try once to become the leader; True when this process now holds the lock."""
        if self.held:
            return True
        await self.release()
        conn = await self._pool.acquire()
        try:
            won = await conn.fetchval(ACQUIRE_SQL, self._key, self._holder, self._lease_s)
        except BaseException:
            await self._pool.release(conn)
            raise
        if not won:
            await self._pool.release(conn)
            return False
        self.lost.clear()
        self._conn = conn
        conn.add_termination_listener(self._on_terminated)
        self._watch = asyncio.create_task(self._heartbeat(conn))
        return True

    async def release(self) -> None:
        """Give up leadership (if held) and return the connection to the pool."""
        watch, conn = self._watch, self._conn
        self._watch, self._conn = None, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        if conn is None:
            return
        try:
            if not conn.is_closed():
                await conn.execute(RELEASE_SQL, self._key, self._holder, timeout=self._heartbeat_s)
        except DB_ERRORS:
            pass  # the session is gone: the next campaigner takes the row over
        finally:
            self.lost.set()
            await self._pool.release(conn)

    def _on_terminated(self, *_: Any) -> None:
        self.lost.set()

    async def _heartbeat(self, conn: PoolConnectionProxy) -> None:
        try:
            while not self.lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.lost.wait(), self._heartbeat_s)
                if self.lost.is_set():
                    return
                args = (self._key, self._holder, self._lease_s)
                if await conn.fetchval(RENEW_SQL, *args, timeout=self._heartbeat_s) is None:
                    log.warning("db.leadership_lost", key=self._key, error="lease taken over")
                    self.lost.set()
        except DB_ERRORS as exc:
            log.warning("db.leadership_lost", key=self._key, error=str(exc))
            self.lost.set()

    async def __aenter__(self) -> Self:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()


@contextlib.asynccontextmanager
async def leader(
    pool: asyncpg.Pool, key: str, *, heartbeat: float = 5.0
) -> AsyncIterator[LeaderLock]:
    """`async with leader(pool, key) as is_leader:` one attempt, released on exit. The lock is
    truthy while held; `is_leader.lost` is set when leadership ends early."""
    async with LeaderLock(pool, key, heartbeat=heartbeat) as lock:
        yield lock


async def run_as_leader(
    pool: asyncpg.Pool,
    key: str,
    work: Callable[[], Awaitable[None]],
    *,
    retry_interval: float = 5.0,
    heartbeat: float = 5.0,
) -> None:
    """Campaign for `key` until cancelled or `work` returns: run `work` while leader, cancel it
    when leadership is lost, then campaign again. Errors of `work` propagate."""
    while True:
        try:
            async with LeaderLock(pool, key, heartbeat=heartbeat) as lock:
                if lock.held and await _run_while_held(lock, work):
                    return
        except DB_ERRORS as exc:
            log.warning("db.leader_campaign_failed", key=key, error=str(exc))
        await asyncio.sleep(retry_interval)


async def _run_while_held(lock: LeaderLock, work: Callable[[], Awaitable[None]]) -> bool:
    """True when `work` finished; False when leadership was lost first (work is cancelled)."""
    task = asyncio.ensure_future(work())
    lost = asyncio.ensure_future(lock.lost.wait())
    try:
        await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, lost):
            pending.cancel()
        await asyncio.gather(task, lost, return_exceptions=True)
    if task.done() and not task.cancelled():
        task.result()
        return True
    return False
