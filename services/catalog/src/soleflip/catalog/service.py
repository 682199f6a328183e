"""What the catalog's edges share inside one process: the runtime (pool, NATS, StockX client,
outbox relay), the catalog's settings, its clock and the job runner's wake-up. Controllers,
consumers and pollers receive it."""

from __future__ import annotations

import asyncio

from soleflip.catalog.settings import CatalogSettings
from soleflip.common.runtime import Clock, DataService, ServiceRuntime, utc_now


class CatalogService(DataService[CatalogSettings]):
    """The catalog process, plus the job runner's wake-up."""

    def __init__(
        self, runtime: ServiceRuntime, options: CatalogSettings, clock: Clock = utc_now
    ) -> None:
        super().__init__(runtime, options, clock)
        #: Set when this process created or retried a job: the job runner looks at once.
        self.jobs_wanted = asyncio.Event()

    def wake_jobs(self) -> None:
        """A job was created or retried: the job runner looks at once."""
        self.jobs_wanted.set()
