"""Batch enrichment jobs: one row per SKU, worked on concurrently, resumable after a crash.

A worker claims one pending item in a short statement, reads the clock, makes its StockX calls
with no connection held, then stores the product and marks the item finished in one short
transaction that it commits.
A killed process therefore leaves every finished item finished (a restart repeats no finished
SKU's calls) and its in-flight items pending but claimed.

Who may take over a claimed item: every `run_job` is a runner with a random id and holds a
session-level advisory lock on that id (one idle connection per runner, whatever its
concurrency) for as long as it works. Postgres frees the lock when the runner's session ends,
kill -9 included, so a claimer that can take the lock itself knows the owner is dead and takes
the item at once, with no lease to wait out.

A transient failure (429 after the client's retries, StockX down, budget wait too long) never
finishes an item: it goes back to pending, unclaimed, and the worker backs off (the error's
`Retry-After`, else exponential up to a minute) before it claims again. Only an item that fails
on its own content ends `failed`; `retry_failed` puts failed items back to pending (the API's
`POST /api/v1/enrichment/{job_id}/retry` and `soleflip sync catalog --retry-failed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime

import asyncpg
import msgspec

from soleflip.catalog import queries, repository
from soleflip.catalog.domain import code_keys, is_gtin
from soleflip.catalog.handlers import (
    CatalogSource,
    Enrichment,
    EnrichOutcome,
    plan_sku,
    write_enrichment,
)
from soleflip.catalog.metrics import ENRICH_DEFERRALS
from soleflip.common.contracts import uuid7
from soleflip.common.db import Conn, UnitOfWork, session_connection
from soleflip.common.errors import SoleflipError
from soleflip.common.observability import get_logger
from soleflip.common.runtime import Clock, utc_now

log = get_logger(__name__)

#: Items worked on at once per process; the shared StockX budget paces them anyway.
DEFAULT_CONCURRENCY = 4
#: Longest back-off of a worker after a transient failure (StockX down, rate limited).
MAX_BACKOFF_S = 60.0
Progress = Callable[[int], None]


def unique_skus(skus: Sequence[str]) -> list[str]:
    """SKUs in order, each distinct style id or GTIN once ("dd1391-100" = "DD1391 100")."""
    seen: set[str] = set()
    kept = []
    for sku in (s.strip() for s in skus):
        key = sku if is_gtin(sku) else "/".join(sorted(code_keys(sku)))
        if key and key not in seen:
            seen.add(key)
            kept.append(sku)
    return kept


async def create_job(conn: Conn, skus: Sequence[str], *, source: str = "api") -> tuple[str, int]:
    """A new pending job over the distinct SKUs; returns its id and its number of items."""
    kept = unique_skus(skus)
    job_id = uuid7()
    await repository.insert_job(conn, job_id, source, kept)
    return job_id, len(kept)


class Deferred(Exception):
    """The item's StockX calls failed for a transient reason; it was put back to pending."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__("deferred")
        self.retry_after = retry_after


async def retry_failed(pool: asyncpg.Pool, job_id: str | None = None) -> int:
    """Put the failed items of one job (or of every job) back to pending; how many."""
    job_ids = [job_id] if job_id else await queries.jobs_with_failures(pool)
    reopened = 0
    for job in job_ids:
        reopened += await repository.reopen_failed(pool, job)
    return reopened


async def _finish_item(conn: Conn, job_id: str, position: int, outcome: EnrichOutcome) -> None:
    await repository.finish_item(
        conn,
        job_id,
        position,
        status=outcome.status,
        product_id=outcome.product_id,
        candidates=[
            {"stockx_product_id": c.stockx_product_id, "style_id": c.style_id, "title": c.title}
            for c in outcome.candidates
        ],
        detail=outcome.detail,
    )


async def _plan_guarded(
    sku: str, *, pool: asyncpg.Pool, stockx: CatalogSource, now: datetime, ttl_s: float
) -> Enrichment:
    """Plan one SKU at StockX; an expected failure on the SKU finishes the item (as failed), a
    transient one propagates (`_work_one` puts the item back to pending)."""
    try:
        return await plan_sku(sku, pool=pool, stockx=stockx, now=now, ttl_s=ttl_s)
    except SoleflipError as exc:
        if exc.transient:
            raise
        return _failed(f"{type(exc).__name__}: {exc.detail}")
    except (asyncpg.PostgresError, msgspec.ValidationError) as exc:
        log.exception("catalog.enrich_failed", sku=sku)
        return _failed(type(exc).__name__)


def _failed(detail: str) -> Enrichment:
    return Enrichment(EnrichOutcome("failed", detail=detail))


async def _write_guarded(conn: Conn, sku: str, plan: Enrichment) -> EnrichOutcome:
    """Write inside a savepoint: a failure undoes its writes but still finishes the item."""
    try:
        async with conn.transaction():
            return await write_enrichment(plan, conn=conn)
    except asyncpg.PostgresError as exc:
        log.exception("catalog.enrich_failed", sku=sku)
        return EnrichOutcome("failed", detail=type(exc).__name__)


async def _work_one(
    pool: asyncpg.Pool,
    stockx: CatalogSource,
    job_id: str,
    runner: int,
    *,
    ttl_s: float,
    clock: Clock,
) -> bool:
    """Claim, plan and finish one item; False when no pending item is left to claim."""
    claimed = await repository.claim_item(pool, job_id, runner)
    if claimed is None:
        return False
    position, sku = claimed
    try:
        plan = await _plan_guarded(sku, pool=pool, stockx=stockx, now=clock(), ttl_s=ttl_s)
    except SoleflipError as exc:
        detail = f"{type(exc).__name__}: {exc.detail}"
        await repository.defer_item(pool, job_id, position, detail)
        ENRICH_DEFERRALS.labels(type(exc).__name__).inc()
        log.warning("catalog.enrich_deferred", sku=sku, error=detail)
        raise Deferred(getattr(exc, "retry_after", None)) from exc
    async with UnitOfWork(pool) as uow:
        outcome = await _write_guarded(uow.conn, sku, plan)
        await _finish_item(uow.conn, job_id, position, outcome)
        await repository.finish_job(uow.conn, job_id)
        await uow.commit()
    return True


def _backoff_s(failures: int, retry_after: float | None) -> float:
    """StockX's `Retry-After` when it gave one, else 1, 2, 4 ... s; at most `MAX_BACKOFF_S`."""
    wait = retry_after if retry_after else 2.0 ** min(failures - 1, 6)
    return min(MAX_BACKOFF_S, max(0.5, wait))


@contextlib.asynccontextmanager
async def _runner(pool: asyncpg.Pool) -> AsyncIterator[int]:
    """A runner id, alive (its advisory lock held by one idle session) until the block ends."""
    runner = secrets.randbits(63)
    async with session_connection(pool) as conn:
        await repository.lock_runner(conn, runner)
        try:
            yield runner
        finally:
            await repository.unlock_runner(conn, runner)


async def run_job(
    pool: asyncpg.Pool,
    stockx: CatalogSource,
    job_id: str,
    *,
    ttl_s: float,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
    clock: Clock = utc_now,
) -> None:
    """Work a job until no item is left to claim: other live runners (processes) may share the
    work and finish the items they claimed; a dead runner's items are taken over. Each item is
    planned at the time `clock` reads when it is claimed."""
    await repository.start_job(pool, job_id)
    async with _runner(pool) as runner:

        async def worker() -> None:
            backoff = 0
            while True:
                try:
                    if not await _work_one(pool, stockx, job_id, runner, ttl_s=ttl_s, clock=clock):
                        return
                    backoff = 0
                except Deferred as deferred:
                    backoff += 1
                    await asyncio.sleep(_backoff_s(backoff, deferred.retry_after))
                    continue
                if progress is not None:
                    progress(await queries.job_finished(pool, job_id))

        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    await repository.finish_job(pool, job_id)
