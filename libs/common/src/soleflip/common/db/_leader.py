"""Leader election with session-level advisory locks: one poller per resource across replicas.

The lock lives as long as the Postgres session holding it, so the holder keeps one pooled
connection for itself and treats the connection's end as the loss of leadership. A partitioned
holder learns of the loss at its next heartbeat, while the server frees the lock once it notices
the dead client, so for a short window two leaders are possible: work done under the lock must
stay idempotent (pollers upsert through `updatedAt` guards).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

from soleflip.common.db._pool import DB_ERRORS

log = structlog.get_logger(__name__)

TRY_LOCK_SQL = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))"
UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtextextended($1, 0))"
HEARTBEAT_SQL = "SELECT 1"


class LeaderLock:
    """`pg_try_advisory_lock` on a dedicated connection; `lost` is set when leadership ends.

    The leader keeps one connection of `pool` for as long as it leads: size the pool for it.
    """

    def __init__(self, pool: asyncpg.Pool, key: str, *, heartbeat: float = 5.0) -> None:
        self._pool = pool
        self._key = f"soleflip.leader:{key}"
        self._heartbeat_s = heartbeat
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
            won = await conn.fetchval(TRY_LOCK_SQL, self._key)
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
                await conn.fetchval(UNLOCK_SQL, self._key, timeout=self._heartbeat_s)
        except DB_ERRORS:
            pass  # the session is gone, and the lock with it
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
                if not self.lost.is_set():
                    await conn.fetchval(HEARTBEAT_SQL, timeout=self._heartbeat_s)
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
