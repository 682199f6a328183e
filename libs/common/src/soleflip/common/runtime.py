"""The runtime of a data service: Postgres pool, NATS, outbox relay, consumers, pollers.

catalog, orders and pricing compose the same way, so the wiring lives here once. A service's
`app.py` builds a `ServiceRuntime`, registers its consumers and background tasks, and hands
`runtime.lifespan` and `runtime.readiness` to `soleflip.common.http.create_app`.

Start order: pool → NATS → streams → StockX client → outbox relay → consumers → tasks.
Shutdown runs in reverse: tasks are cancelled, consumers finish or NAK their messages, the relay
publishes what is committed, then NATS drains and the pool closes. Consumers stop as soon as the
server is signalled (`SHUTDOWN_REQUESTED`), while HTTP requests still drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Generic, TypeVar

import asyncpg
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from nats.aio.client import Client
from nats.js import JetStreamContext

from soleflip.common.bus import (
    ConsumerRunner,
    Names,
    Outgoing,
    Publisher,
    check_streams,
    connect,
    disconnect,
    ensure_streams,
    stream_spec,
)
from soleflip.common.clock import Clock as Clock  # re-exported: services import it from here
from soleflip.common.clock import utc_now as utc_now
from soleflip.common.db import OutboxMessage, OutboxRelay, check_ready, create_pool, run_as_leader
from soleflip.common.errors import Unavailable
from soleflip.common.http import SHUTDOWN_REQUESTED, Degraded
from soleflip.common.observability import get_logger
from soleflip.common.polls import PollLog, polls_route
from soleflip.common.settings import Settings
from soleflip.common.stockx import StockXClient

log = get_logger(__name__)
T = TypeVar("T")

ConsumerFactory = Callable[["ServiceRuntime"], ConsumerRunner]
TaskFactory = Callable[["ServiceRuntime"], Awaitable[None]]


OptionsT = TypeVar("OptionsT")


class DataService(Generic[OptionsT]):
    """What a data service's edges share inside one process (its `service.py` subclasses it):
    the runtime (pool, NATS, StockX client, outbox relay), the service's own settings and its
    clock. Controllers, consumers and pollers receive it; the pool and clients are open inside
    the runtime's lifespan."""

    def __init__(self, runtime: ServiceRuntime, options: OptionsT, clock: Clock = utc_now) -> None:
        self.runtime = runtime
        self.options = options
        self.clock = clock

    @property
    def pool(self) -> asyncpg.Pool:
        return self.runtime.pool

    @property
    def stockx(self) -> StockXClient:
        return self.runtime.stockx

    def now(self) -> datetime:
        """The time an edge hands its handlers (read once per request, message, poll or job
        item)."""
        return self.clock()


class ServiceRuntime:
    """Connections and background work of one service process, alive inside `lifespan`."""

    def __init__(
        self,
        service: str,
        settings: Settings,
        *,
        streams: Sequence[str],
        pool_size: int = 10,
        use_stockx: bool = True,
    ) -> None:
        self.service = service
        self.settings = settings
        self.names = Names(settings.nats_prefix)
        self._stream_specs = [stream_spec(name) for name in streams]
        self._pool_size = pool_size
        self._use_stockx = use_stockx
        self._consumer_factories: list[ConsumerFactory] = []
        self._task_factories: list[tuple[str, TaskFactory, bool]] = []
        self._pool: asyncpg.Pool | None = None
        self._nc: Client | None = None
        self._publisher: Publisher | None = None
        self._stockx: StockXClient | None = None
        self.consumers: list[ConsumerRunner] = []
        self.poll_kinds: list[str] = []

    # -- registration (before start) ----------------------------------------------------------

    def add_consumer(self, factory: ConsumerFactory) -> None:
        """A durable consumer built once NATS is connected."""
        self._consumer_factories.append(factory)

    def add_task(self, name: str, factory: TaskFactory, *, leader: bool = False) -> None:
        """A background task; with `leader`, one process across all replicas runs it at a time."""
        self._task_factories.append((name, factory, leader))

    def poll_log(self, kind: str) -> PollLog:
        """The record of poller `kind`'s runs, listed by `polls_route` (`soleflip.common.polls`)."""
        self.poll_kinds.append(kind)
        return PollLog(kind, lambda: self.pool)

    def polls_route(self) -> HTTPRouteHandler:
        """`GET /api/v1/polls`: every polling service mounts this one route."""
        return polls_route(lambda: self.pool, lambda: self.poll_kinds)

    # -- resources (inside the lifespan) --------------------------------------------------------

    @property
    def pool(self) -> asyncpg.Pool:
        return _alive(self._pool, "the database pool")

    @property
    def nc(self) -> Client:
        return _alive(self._nc, "the NATS connection")

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream()

    @property
    def publisher(self) -> Publisher:
        return _alive(self._publisher, "the publisher")

    @property
    def stockx(self) -> StockXClient:
        return _alive(self._stockx, "the StockX client")

    # -- lifecycle -----------------------------------------------------------------------------

    @asynccontextmanager
    async def lifespan(self, _app: Litestar | None = None) -> AsyncIterator[None]:
        """Open everything, run the background work, and close it all in reverse order."""
        async with contextlib.AsyncExitStack() as stack:
            await self._open_pool(stack)
            await self._open_nats(stack)
            if self._use_stockx:
                self._stockx = await StockXClient.connect(self.settings, self.js, names=self.names)
                stack.push_async_callback(self._close_stockx)
            await self._start_relay(stack)
            await self._start_consumers(stack)
            self._stop_consumers_on_signal(stack)
            self._start_tasks(stack)
            freeze_startup_objects()
            log.info("service.started", service=self.service)
            yield
            log.info("service.stopping", service=self.service)

    async def _open_pool(self, stack: contextlib.AsyncExitStack) -> None:
        self._pool = await create_pool(
            self.settings.database_url,
            max_size=self._pool_size,
            schema=self.service,
            application_name=f"soleflip-{self.service}",
        )
        stack.push_async_callback(self._close_pool)

    async def _open_nats(self, stack: contextlib.AsyncExitStack) -> None:
        self._nc = await connect(self.settings.nats_url, name=self.service)
        stack.push_async_callback(self._close_nats)
        await ensure_streams(
            self.js, self.names, specs=self._stream_specs, replicas=self.settings.nats_replicas
        )
        self._publisher = Publisher(self.js, self.names)

    async def _start_relay(self, stack: contextlib.AsyncExitStack) -> None:
        relay = OutboxRelay(self.pool, self._publish_outbox, name=self.service)
        task = asyncio.create_task(relay.run(), name=f"{self.service}:outbox")

        async def stop() -> None:
            await relay.stop()
            await asyncio.wait({task}, timeout=10.0)
            if not task.done():
                task.cancel()

        stack.push_async_callback(stop)

    async def _publish_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        outgoing = [Outgoing(m.subject, m.payload, m.msg_id, m.headers) for m in messages]
        await self.publisher.publish_many(outgoing)

    async def _start_consumers(self, stack: contextlib.AsyncExitStack) -> None:
        started: list[ConsumerRunner] = []

        async def stop_all() -> None:
            # All at once: each stop waits for its fetch to end, so one after the other the
            # shutdown grew with every consumer a service adds.
            await asyncio.gather(*(runner.stop() for runner in started))

        stack.push_async_callback(stop_all)
        for factory in self._consumer_factories:
            runner = factory(self)
            await runner.start()
            started.append(runner)
            self.consumers.append(runner)

    def _stop_consumers_on_signal(self, stack: contextlib.AsyncExitStack) -> None:
        """On SIGTERM stop taking messages at once: the HTTP drain that comes before the
        lifespan's shutdown may last long, and a stopping pod should not start new batches."""

        async def watch() -> None:
            # A threading.Event (set in a signal handler): polled, so the wait stays cancellable.
            while not SHUTDOWN_REQUESTED.is_set():  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            log.info("service.draining", service=self.service)
            await asyncio.gather(*(runner.stop() for runner in self.consumers))

        task = asyncio.create_task(watch(), name=f"{self.service}:drain")
        stack.push_async_callback(_cancel, task)

    def _start_tasks(self, stack: contextlib.AsyncExitStack) -> None:
        for name, factory, leader in self._task_factories:
            task = asyncio.create_task(self._supervise(name, factory, leader), name=name)
            stack.push_async_callback(_cancel, task)

    async def _supervise(self, name: str, factory: TaskFactory, leader: bool) -> None:
        """Run a background task forever: restart it after a crash, with a pause."""
        while True:
            try:
                if leader:
                    key = f"{self.names.durable(self.service)}:{name}"
                    await run_as_leader(self.pool, key, lambda: factory(self))
                else:
                    await factory(self)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("task.crashed", task=name)
                await asyncio.sleep(5.0)

    async def _close_stockx(self) -> None:
        if self._stockx is not None:
            await self._stockx.aclose()
            self._stockx = None

    async def _close_nats(self) -> None:
        if self._nc is not None:
            await disconnect(self._nc)
            self._nc = None

    async def _close_pool(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    # -- readiness -----------------------------------------------------------------------------

    def readiness(self) -> dict[str, Callable[[], Awaitable[None]]]:
        checks: dict[str, Callable[[], Awaitable[None]]] = {
            "postgres": self._check_db,
            "nats": self._check_nats,
        }
        if self._use_stockx:
            checks["stockx_auth"] = self._check_stockx_auth
        return checks

    async def _check_stockx_auth(self) -> None:
        # Reported, not blocking: without StockX the service still serves what it holds.
        if self._stockx is not None and self._stockx.auth_problem:
            raise Degraded("StockX credentials fail; a person must act (see the service log)")

    async def _check_db(self) -> None:
        if self._pool is None or not await check_ready(self._pool):
            raise Unavailable("Postgres does not answer")

    async def _check_nats(self) -> None:
        if self._nc is None or not self._nc.is_connected:
            raise Unavailable("not connected to NATS")
        problems = await check_streams(self.js, self.names, specs=self._stream_specs)
        if problems:
            raise Unavailable("; ".join(problems))


def _alive(value: T | None, what: str) -> T:
    if value is None:
        raise Unavailable(f"{what} is not open (outside the service lifespan)")
    return value


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def freeze_startup_objects() -> None:
    """Exclude everything alive once a service has started from future garbage collections.

    A full collection walks every module, route and schema object loaded at start (~60,000
    objects in ingest; 47 ms measured on the shared bench box): a pause that shows up as p99
    latency, and in pricing's full re-evaluation (tens of thousands of objects allocated, so
    full collections run during it) about 6 of 76 us CPU per recommendation. After `gc.freeze()`
    collections walk only what was made since. Every service calls it once started (ingest from
    its own lifespan, the data services from `ServiceRuntime.lifespan`).
    """
    gc.collect()
    gc.freeze()
