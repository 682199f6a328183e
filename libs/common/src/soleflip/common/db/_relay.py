"""The outbox relay: publishes committed outbox rows in id order and marks them published.

At-least-once: rows are locked (`FOR UPDATE SKIP LOCKED`, so replicas share the work without
publishing a row twice), published and marked in the same transaction, which commits only once
JetStream acknowledged every message (the mark is sent while the PubAcks are on the way). A
crash after the publish and before the commit leaves the rows unpublished; the next sweep
publishes them again with the same message id, which JetStream de-duplicates. A failed publish
is retried with backoff; nothing is ever dropped. Batches are pipelined (the next one is
fetched while this one's PubAcks are on the way) but published one after the other, each only
once the one before it was acknowledged, so order holds within a relay; replicas may interleave
batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import msgspec
import structlog

from soleflip.common.db._metrics import (
    OUTBOX_FAILURES,
    OUTBOX_LAG_SECONDS,
    OUTBOX_PAUSED,
    OUTBOX_PUBLISHED,
)
from soleflip.common.db._outbox import OutboxMessage, prune_outbox
from soleflip.common.db._pool import DB_ERRORS, session_connection
from soleflip.common.outages import is_outage

log = structlog.get_logger(__name__)

Publish = Callable[[Sequence[OutboxMessage]], Awaitable[None]]

FETCH_UNPUBLISHED_SQL = """
SELECT id, event_id, subject, payload, headers::text AS headers,
       extract(epoch FROM clock_timestamp() - created_at)::float8 AS age_s
FROM outbox
WHERE published_at IS NULL
ORDER BY id
LIMIT $1
FOR UPDATE SKIP LOCKED
"""
MARK_PUBLISHED_SQL = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"
CHANNEL_SQL = "SELECT 'soleflip_outbox_' || current_schema()"
HEARTBEAT_SQL = "SELECT 1"

_headers_decoder = msgspec.json.Decoder(dict[str, str])


def _settle(waiter: asyncio.Future[Any] | None, value: Any) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(value)


def _fail(waiter: asyncio.Future[Any] | None, exc: BaseException) -> None:
    if waiter is None or waiter.done():
        return
    if isinstance(exc, Exception):
        waiter.set_exception(exc)
        waiter.exception()  # retrieved: nobody may be waiting for it any more
    else:
        waiter.cancel()  # cancelled (a shutdown): the batches after it stand down too


def _messages(rows: Sequence[asyncpg.Record]) -> list[OutboxMessage]:
    """The batch's messages. A batch holds a handful of distinct header sets (one per event
    type and enqueueing trace), so each is decoded once and its dict shared by the messages
    that carry it (publishers copy headers before adding to them)."""
    decoded: dict[str, dict[str, str]] = {}
    messages = []
    for row in rows:
        text = row["headers"]
        headers = decoded.get(text)
        if headers is None:
            headers = decoded[text] = _headers_decoder.decode(text)
        messages.append(
            OutboxMessage(
                subject=row["subject"],
                payload=bytes(row["payload"]),
                msg_id=row["event_id"],
                headers=headers,
                id=row["id"],
            )
        )
    return messages


class OutboxRelay:
    """Moves outbox rows to the bus: `await relay.run()` until `await relay.stop()`.

    Wakes on the outbox trigger's NOTIFY (a dedicated pooled connection, re-established after
    Postgres restarts) and every `poll_interval` seconds; prunes rows published longer than
    `retention` ago every `prune_interval` seconds. `name` labels its `soleflip_outbox_*`
    metrics. While running it keeps one connection of `pool` for LISTEN and, while draining, up
    to three more (a batch publishing, the next one fetched, the one before it committing).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        publish: Publish,
        *,
        batch: int = 500,
        poll_interval: float = 5.0,
        retention: timedelta = timedelta(days=7),
        prune_interval: float = 3600.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 30.0,
        name: str = "outbox",
    ) -> None:
        self._pool = pool
        self._name = name
        self._publish = publish
        self._batch = batch
        self._poll_interval = poll_interval
        self._retention = retention
        self._prune_interval = prune_interval
        self._backoff = (backoff_initial, backoff_max)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._next_prune = 0.0
        self.listening = asyncio.Event()

    async def relay_once(self) -> int:
        """Publish one batch of unpublished rows and mark them; returns how many."""
        return await self._relay_batch(None, None, None)

    async def drain(self) -> int:
        """Publish until no unpublished row is left (or another replica holds the rest).

        Pipelined: the next batch is fetched (and locked) while this one's PubAcks are on the way,
        and this one commits while the next one publishes; a batch is published only once the
        one before it was acknowledged, so the bus never waits for Postgres and order holds. At
        most two batches hold rows at a time (and a third may be committing)."""
        loop = asyncio.get_running_loop()
        tasks: list[asyncio.Task[int]] = []
        before: asyncio.Future[None] | None = None
        try:
            while not self._stopping.is_set():
                claimed: asyncio.Future[int] = loop.create_future()
                published: asyncio.Future[None] = loop.create_future()
                tasks.append(asyncio.create_task(self._relay_batch(before, claimed, published)))
                if await claimed < self._batch:
                    break
                if before is not None:
                    await before  # the batch before it is acknowledged: one more may be fetched
                before = published
        finally:
            # Every batch settles (commits, or rolls back when the one before it failed).
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    async def _relay_batch(
        self,
        before: asyncio.Future[None] | None,
        claimed: asyncio.Future[int] | None,
        published: asyncio.Future[None] | None,
    ) -> int:
        """One batch in its own transaction: fetch and lock its rows (`claimed` gets their
        count), publish them once `before` (the previous batch's publish) succeeded and mark
        them (`published` says when the bus acknowledged them), then commit."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(FETCH_UNPUBLISHED_SQL, self._batch)
                _settle(claimed, len(rows))
                if before is not None:
                    await asyncio.shield(before)  # raises when it failed: roll back, unpublished
                if rows:
                    await self._publish_marking(conn, rows)
                _settle(published, None)
        except BaseException as exc:
            for waiter in (claimed, published):
                _fail(waiter, exc)
            raise
        if rows:
            OUTBOX_PUBLISHED.labels(self._name).inc(len(rows))
            lag = OUTBOX_LAG_SECONDS.labels(self._name)
            for row in rows:
                lag.observe(row["age_s"])
        return len(rows)

    async def _publish_marking(self, conn: Any, rows: list[asyncpg.Record]) -> None:
        # The rows are marked while their PubAcks are on the way (one round trip fewer per
        # batch); the mark commits only once every message is acknowledged: a failed publish
        # raises here and rolls it back.
        publishing = asyncio.ensure_future(self._publish(_messages(rows)))
        try:
            await conn.execute(MARK_PUBLISHED_SQL, [row["id"] for row in rows])
        except BaseException:
            publishing.cancel()
            with contextlib.suppress(BaseException):
                await publishing
            raise
        await publishing

    async def stop(self) -> None:
        """Ask `run` to return after the batch in flight."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Relay until `stop()`: on every notification, every poll interval, after failures.

        A relay runs once: `stop()` before `run()` starts (a shutdown racing startup) makes `run`
        return at once rather than be lost."""
        listener = asyncio.create_task(self._listen_forever())
        try:
            await self._work_forever()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _work_forever(self) -> None:
        initial, maximum = self._backoff
        delay = initial
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.drain()
                await self._maybe_prune()
            except Exception as exc:
                # Postgres or the bus is down: the transaction rolled back, so the rows stay
                # unmarked and are published after it; never dropped, never marked unsent.
                self._note_failure(exc, delay)
                await self._sleep(self._stopping, delay)
                delay = min(delay * 2, maximum)
                continue
            if delay != initial:
                log.info("outbox.relay_resumed", relay=self._name)
            OUTBOX_PAUSED.labels(self._name).set(0)
            delay = initial
            await self._sleep(self._wake, self._poll_interval)

    def _note_failure(self, exc: Exception, delay: float) -> None:
        OUTBOX_FAILURES.labels(self._name).inc()
        if is_outage(exc):  # expected: no stack trace, one gauge to alert on
            OUTBOX_PAUSED.labels(self._name).set(1)
            log.warning("outbox.relay_paused", relay=self._name, error=repr(exc), retry_in_s=delay)
        else:
            log.warning("outbox.relay_failed", relay=self._name, retry_in_s=delay, exc_info=exc)

    async def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + self._prune_interval
        pruned = await prune_outbox(self._pool, self._retention)
        if pruned:
            log.info("outbox.pruned", rows=pruned)

    @staticmethod
    async def _sleep(event: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def _listen_forever(self) -> None:
        """Hold a LISTEN connection; on loss, reconnect with backoff (the sweep covers the gap)."""
        initial, maximum = self._backoff
        delay = initial
        while True:
            try:
                async with session_connection(self._pool) as conn:
                    await self._listen(conn)
                    delay = initial
            except DB_ERRORS as exc:
                log.info("outbox.listen_lost", error=str(exc), retry_in_s=delay)
            except Exception:
                # Never let the listener die: the relay would silently fall back to sweeps only.
                log.exception("outbox.listen_failed", retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, maximum)

    async def _listen(self, conn: Any) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda *_: lost.set())
        channel = await conn.fetchval(CHANNEL_SQL)
        await conn.add_listener(channel, self._on_notify)
        try:
            self.listening.set()
            self._wake.set()  # notifications sent while we were not listening are gone: sweep
            while not lost.is_set():
                await self._sleep(lost, self._poll_interval)
                if not lost.is_set():
                    # A half-open TCP connection never reports loss; a round trip does.
                    await conn.fetchval(HEARTBEAT_SQL, timeout=self._poll_interval)
        finally:
            self.listening.clear()
            if not conn.is_closed():
                # Also on cancellation: the pool wants its connection back without listeners.
                with contextlib.suppress(Exception):
                    await conn.remove_listener(channel, self._on_notify)
        raise ConnectionResetError("LISTEN connection closed")
