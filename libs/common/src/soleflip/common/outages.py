"""Which failures mean "a dependency is down" rather than "this input is bad".

A transaction Postgres rolled back for a concurrency conflict (SQLSTATE class 40: a deadlock
or a serialization failure, e.g. two batches updating the same summary rows in opposite
order) counts here too: it says nothing about the message or request, and waiting and trying
again is the answer, as for an outage. One classification for every edge: a consumer holds its
messages and waits (no delivery spent), the outbox relay keeps its rows, and the HTTP edge
answers 503 with `Retry-After` (never 500).
"""

from __future__ import annotations

import asyncpg

from soleflip.common.errors import Unavailable

#: Postgres (or the path to it) is not there: refused, reset, shut down, starting up, full.
_POSTGRES_DOWN: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # class 08, and a connection lost mid-statement
    asyncpg.CannotConnectNowError,  # 57P03, starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TooManyConnectionsError,  # 53300
)
#: Postgres rolled the transaction back because of other transactions (40P01, 40001).
_POSTGRES_CONFLICT: tuple[type[BaseException], ...] = (asyncpg.TransactionRollbackError,)
_WAIT_IT_OUT = (Unavailable, OSError, TimeoutError, *_POSTGRES_DOWN, *_POSTGRES_CONFLICT)


def is_outage(error: BaseException) -> bool:
    """True when `error` says a dependency (Postgres, NATS, StockX) is unavailable.

    Connection-level only: `OSError` (refused, reset, unreachable), `TimeoutError` (a pool
    acquire or a call the server never answered; a slow statement ends in Postgres'
    `statement_timeout` first, which is not an outage), Postgres' connection and shutdown errors,
    a closed asyncpg connection, and our `Unavailable` (NATS down, StockX 5xx or circuit open);
    and a transaction rolled back for a concurrency conflict (deadlock, serialization failure).
    """
    if isinstance(error, BaseExceptionGroup):
        return all(is_outage(e) for e in error.exceptions)
    if isinstance(error, _WAIT_IT_OUT):
        return True
    # asyncpg says "connection is closed" with a plain InterfaceError (a pooled connection
    # that died with its server).
    return isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error)
