"""What the catalog's edges share inside one process: the runtime (pool, NATS, StockX client,
outbox relay), the catalog's settings and the job runner's wake-up. Controllers, consumers and
pollers receive it."""

from __future__ import annotations

import asyncio

import asyncpg

from soleflip.catalog.settings import CatalogSettings
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.stockx import StockXClient


class CatalogService:
    """The catalog process; the runtime's pool and clients are open inside its lifespan."""

    def __init__(self, runtime: ServiceRuntime, options: CatalogSettings) -> None:
        self.runtime = runtime
        self.options = options
        #: Set when this process created or retried a job: the job runner looks at once.
        self.jobs_wanted = asyncio.Event()

    @property
    def pool(self) -> asyncpg.Pool:
        return self.runtime.pool

    @property
    def stockx(self) -> StockXClient:
        return self.runtime.stockx

    def wake_jobs(self) -> None:
        """A job was created or retried: the job runner looks at once."""
        self.jobs_wanted.set()
