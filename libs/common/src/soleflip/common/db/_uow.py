"""A unit of work: one connection, one transaction, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from asyncpg.transaction import Transaction

from soleflip.common.db._pool import DB_ERRORS


class UnitOfWork:
    """`async with UnitOfWork(pool) as uow: ...; await uow.commit()`.

    Leaving the block without `commit()` (or with an exception) rolls everything back, so a
    handler's writes, its inbox claim and its outbox rows land together or not at all.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: PoolConnectionProxy | None = None
        self._tx: Transaction | None = None
        self._done = False
        self._committed = False

    @property
    def conn(self) -> PoolConnectionProxy:
        if self._conn is None or self._done:
            raise RuntimeError("the unit of work is not active")
        return self._conn

    @property
    def committed(self) -> bool:
        return self._committed

    async def __aenter__(self) -> Self:
        self._conn = await self._pool.acquire()
        try:
            self._tx = self._conn.transaction()
            await self._tx.start()
        except BaseException:
            await self._pool.release(self._conn)
            self._conn = None
            raise
        self._done = False
        self._committed = False
        return self

    async def commit(self) -> None:
        """Make the writes durable; the unit of work is finished afterwards."""
        tx = self._require_tx()
        # Over either way: a failed COMMIT (a deferred constraint) ends the transaction too.
        self._done = True
        await tx.commit()
        self._committed = True

    async def rollback(self) -> None:
        """Discard the writes; the unit of work is finished afterwards."""
        tx = self._require_tx()
        self._done = True
        await tx.rollback()

    def _require_tx(self) -> Transaction:
        if self._tx is None or self._done:
            raise RuntimeError("the unit of work is not active")
        return self._tx

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, tx = self._conn, self._tx
        self._conn = None
        try:
            if tx is not None and not self._done and conn is not None and not conn.is_closed():
                self._done = True
                await tx.rollback()
        except DB_ERRORS:
            # The connection broke: the server rolls back by itself. Keep the error that got
            # us here (if any) rather than this one.
            if exc is None:
                raise
        finally:
            self._done = True
            if conn is not None:
                await self._pool.release(conn)
