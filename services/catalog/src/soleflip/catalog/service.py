"""What the catalog's edges share inside one process: the runtime (pool, NATS, StockX client,
outbox relay), the catalog's settings, its consumers and its background work (refresh poller and
job runner). Controllers, consumers and pollers receive it."""

from __future__ import annotations

import asyncpg

from soleflip.catalog.consumers import CatalogConsumers
from soleflip.catalog.pollers import Background
from soleflip.catalog.settings import CatalogSettings
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.stockx import StockXClient


class CatalogService:
    """The catalog process; the runtime's pool and clients are open inside its lifespan."""

    def __init__(self, runtime: ServiceRuntime, options: CatalogSettings) -> None:
        self.runtime = runtime
        self.options = options
        self.background = Background(
            pool=lambda: runtime.pool,
            stockx=lambda: runtime.stockx,
            ttl_s=options.refresh_ttl_s,
            interval_s=options.refresh_interval_s,
            concurrency=options.job_concurrency,
        )
        self.consumers = CatalogConsumers(
            pool=lambda: runtime.pool,
            stockx=lambda: runtime.stockx,
            ttl_s=options.refresh_ttl_s,
            on_job=self.background.wake,
        )

    @property
    def pool(self) -> asyncpg.Pool:
        return self.runtime.pool

    @property
    def stockx(self) -> StockXClient:
        return self.runtime.stockx

    def wake_jobs(self) -> None:
        """A job was created or retried: the job runner looks at once."""
        self.background.wake()
