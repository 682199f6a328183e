"""Background work of the catalog: the refresh poller and the enrichment job runner.

Both run in one process across all replicas (leader tasks). The refresh poller is the safety
net behind the product relays: products older than the TTL are re-fetched, oldest first, at the
lowest budget priority; a stored id that now 404s is found again by style id and remapped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from soleflip.catalog import jobs, queries
from soleflip.catalog.handlers import CatalogSource, refresh_product
from soleflip.common.errors import SoleflipError
from soleflip.common.observability import get_logger

log = get_logger(__name__)

#: Products refreshed per round: at 1 request/s shared by every service, 2 calls each.
REFRESH_BATCH = 20
JOB_POLL_S = 1.0


async def refresh_round(
    pool: asyncpg.Pool, stockx: CatalogSource, *, ttl_s: float, batch: int = REFRESH_BATCH
) -> Counter[str]:
    """Refresh up to `batch` products older than `ttl_s`; counts of each outcome."""
    async with pool.acquire() as conn:
        due = await queries.stale_products(conn, ttl_s, batch)
    outcomes: Counter[str] = Counter()
    for stale in due:
        try:
            outcomes[await refresh_product(pool, stockx, stale)] += 1
        except SoleflipError as exc:
            # One product's trouble (budget, 5xx) must not stop the round; it stays due.
            log.warning("catalog.refresh_failed", product_id=stale.id, error=repr(exc))
            outcomes["failed"] += 1
            if exc.transient:
                break
    return outcomes


@dataclass(slots=True)
class Background:
    """The leader tasks, sharing a wake-up for jobs created by this process."""

    pool: Callable[[], asyncpg.Pool]
    stockx: Callable[[], CatalogSource]
    ttl_s: float
    interval_s: float
    concurrency: int = jobs.DEFAULT_CONCURRENCY
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self._wake.set()

    async def refresh_forever(self) -> None:
        while True:
            outcomes = await refresh_round(self.pool(), self.stockx(), ttl_s=self.ttl_s)
            if outcomes:
                log.info("catalog.refresh_round", **outcomes)
            await asyncio.sleep(self.interval_s)

    async def jobs_forever(self) -> None:
        while True:
            for job_id in await queries.open_jobs(self.pool()):
                await jobs.run_job(
                    self.pool(),
                    self.stockx(),
                    job_id,
                    ttl_s=self.ttl_s,
                    concurrency=self.concurrency,
                )
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), JOB_POLL_S)
