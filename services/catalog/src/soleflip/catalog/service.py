"""What the catalog's edges share inside one process: the runtime (pool, NATS, StockX client,
outbox relay), the catalog's settings, its clock and the job runner's wake-up. Controllers,
consumers and pollers receive it."""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg

from soleflip.catalog.settings import CatalogSettings
from soleflip.common.runtime import Clock, ServiceRuntime, utc_now
from soleflip.common.stockx import StockXClient


class CatalogService:
    """The catalog process; the runtime's pool and clients are open inside its lifespan."""

    def __init__(
        self, runtime: ServiceRuntime, options: CatalogSettings, clock: Clock = utc_now
    ) -> None:
        self.runtime = runtime
        self.options = options
        self.clock = clock
        #: Set when this process created or retried a job: the job runner looks at once.
        self.jobs_wanted = asyncio.Event()

    @property
    def pool(self) -> asyncpg.Pool:
        return self.runtime.pool

    @property
    def stockx(self) -> StockXClient:
        return self.runtime.stockx

    def now(self) -> datetime:
        """The time an edge hands its handlers (read once per message, poll or job item)."""
        return self.clock()

    def wake_jobs(self) -> None:
        """A job was created or retried: the job runner looks at once."""
        self.jobs_wanted.set()
