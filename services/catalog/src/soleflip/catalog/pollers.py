"""Background work of the catalog: the refresh poller and the enrichment job runner.

Both run in one process across all replicas (leader tasks). The refresh poller is the safety
net behind the product relays: products older than the TTL are re-fetched, oldest first, at the
lowest budget priority; a stored id that now 404s is found again by style id and remapped (or
flagged `stockx_missing_since` when nothing matches). One product StockX fails on (5xx, an
undecodable body) never stops a round: it is counted on its row, asked after the others, and no
more after `MAX_REFRESH_FAILURES` in a row. An outage (circuit open, transport, rate limit,
budget) ends the round with nothing counted; the next round starts where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import TYPE_CHECKING

import asyncpg

from soleflip.catalog import jobs, queries, repository
from soleflip.catalog.handlers import CatalogSource, plan_refresh, write_refresh
from soleflip.catalog.metrics import REFRESH_FAILURES
from soleflip.common.db import UnitOfWork
from soleflip.common.errors import SoleflipError
from soleflip.common.observability import get_logger
from soleflip.common.polling import poll_forever
from soleflip.common.runtime import Clock, utc_now
from soleflip.common.stockx import StockXError, is_item_failure

if TYPE_CHECKING:
    from soleflip.catalog.service import CatalogService

log = get_logger(__name__)

#: Products refreshed per round: at 1 request/s shared by every service, 2 calls each.
REFRESH_BATCH = 20
#: Refreshes of one product that may fail in a row before the poller stops asking for it.
MAX_REFRESH_FAILURES = 5
JOB_POLL_S = 1.0


async def refresh_round(
    pool: asyncpg.Pool,
    stockx: CatalogSource,
    *,
    ttl_s: float,
    batch: int = REFRESH_BATCH,
    clock: Clock = utc_now,
) -> Counter[str]:
    """Refresh up to `batch` products older than `ttl_s`; counts of each outcome. Each product
    is planned (StockX calls, no connection held) at the time `clock` reads just before, then
    written in one short transaction committed here."""
    async with pool.acquire() as conn:
        due = await queries.stale_products(conn, ttl_s, batch, MAX_REFRESH_FAILURES)
    outcomes: Counter[str] = Counter()
    for stale in due:
        try:
            plan = await plan_refresh(stale, stockx=stockx, now=clock())
            async with UnitOfWork(pool) as uow:
                outcome = await write_refresh(plan, conn=uow.conn)
                if outcome != "lost":  # a lost product keeps its missing flag (set just now)
                    await repository.clear_refresh_failures(uow.conn, stale.id)
                await uow.commit()
        except SoleflipError as exc:
            if not _about_the_item(exc):
                # StockX as a whole is unavailable: wait for it, count nothing against products.
                log.warning("catalog.refresh_paused", product_id=stale.id, error=repr(exc))
                outcomes["paused"] += 1
                break
            outcomes[await _failed(pool, stale.id, exc)] += 1
            continue
        outcomes[outcome] += 1
    return outcomes


def _about_the_item(exc: SoleflipError) -> bool:
    return is_item_failure(exc) if isinstance(exc, StockXError) else not exc.transient


async def _failed(pool: asyncpg.Pool, product_id: str, exc: SoleflipError) -> str:
    """Count a refresh that failed on this product; "gave_up" once the bound is reached."""
    async with pool.acquire() as conn:
        failures = await repository.record_refresh_failure(conn, product_id, repr(exc)[:500])
    outcome = "gave_up" if failures >= MAX_REFRESH_FAILURES else "failed"
    REFRESH_FAILURES.labels(outcome).inc()
    log.warning("catalog.refresh_failed", product_id=product_id, failures=failures, error=repr(exc))
    return outcome


class Background:
    """The leader tasks; the job runner wakes on the service's `jobs_wanted`."""

    def __init__(self, service: CatalogService) -> None:
        self.service, options = service, service.options
        self.ttl_s, self.interval_s = options.refresh_ttl_s, options.refresh_interval_s
        self.concurrency = options.job_concurrency
        self.record = service.runtime.poll_log("catalog.refresh") if options.refreshing else None

    async def refresh_forever(self) -> None:
        """A refresh round every interval, start to start; a failed round retries sooner."""

        async def round_(_: bool) -> str:
            outcomes = await refresh_round(
                self.service.pool, self.service.stockx, ttl_s=self.ttl_s, clock=self.service.clock
            )
            if outcomes:
                log.info("catalog.refresh_round", **outcomes)
            return "paused" if outcomes["paused"] else "ok"

        await poll_forever(
            round_, name="catalog.refresh", interval_s=self.interval_s, record=self.record
        )

    async def jobs_forever(self) -> None:
        while True:
            for job_id in await queries.open_jobs(self.service.pool):
                await jobs.run_job(
                    self.service.pool,
                    self.service.stockx,
                    job_id,
                    ttl_s=self.ttl_s,
                    concurrency=self.concurrency,
                    clock=self.service.clock,
                )
            self.service.jobs_wanted.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.service.jobs_wanted.wait(), JOB_POLL_S)
