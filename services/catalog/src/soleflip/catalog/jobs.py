"""Batch enrichment jobs: one row per SKU, worked on concurrently, resumable after a crash.

A worker claims one pending item in a short statement, makes its StockX calls with no
connection held, then stores the product and marks the item finished in one short transaction.
A killed process therefore leaves every finished item finished (a restart repeats no finished
SKU's calls) and its in-flight items pending but claimed.

Who may take over a claimed item: every `run_job` is a runner with a random id and holds a
session-level advisory lock on that id (one idle connection per runner, whatever its
concurrency) for as long as it works. Postgres frees the lock when the runner's session ends,
kill -9 included, so a claimer that can take the lock itself knows the owner is dead and takes
the item at once, with no lease to wait out.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Sequence

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
from soleflip.common.contracts import uuid7
from soleflip.common.db import Conn, UnitOfWork
from soleflip.common.errors import SoleflipError
from soleflip.common.observability import get_logger

log = get_logger(__name__)

#: Items worked on at once per process; the shared StockX budget paces them anyway.
DEFAULT_CONCURRENCY = 4
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
    pool: asyncpg.Pool, stockx: CatalogSource, sku: str, ttl_s: float
) -> Enrichment:
    """Plan one SKU at StockX; an expected failure still finishes the item (as failed)."""
    try:
        return await plan_sku(pool, stockx, sku, ttl_s=ttl_s)
    except SoleflipError as exc:
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
            return await write_enrichment(conn, plan)
    except asyncpg.PostgresError as exc:
        log.exception("catalog.enrich_failed", sku=sku)
        return EnrichOutcome("failed", detail=type(exc).__name__)


async def _work_one(
    pool: asyncpg.Pool, stockx: CatalogSource, job_id: str, runner: int, ttl_s: float
) -> bool:
    """Claim, plan and finish one item; False when no pending item is left to claim."""
    claimed = await repository.claim_item(pool, job_id, runner)
    if claimed is None:
        return False
    position, sku = claimed
    plan = await _plan_guarded(pool, stockx, sku, ttl_s)
    async with UnitOfWork(pool) as uow:
        outcome = await _write_guarded(uow.conn, sku, plan)
        await _finish_item(uow.conn, job_id, position, outcome)
        await repository.finish_job(uow.conn, job_id)
        await uow.commit()
    return True


@contextlib.asynccontextmanager
async def _runner(pool: asyncpg.Pool) -> AsyncIterator[int]:
    """A runner id, alive (its advisory lock held by one idle session) until the block ends."""
    runner = secrets.randbits(63)
    async with pool.acquire() as conn:
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
) -> None:
    """Work a job until no item is left to claim: other live runners (processes) may share the
    work and finish the items they claimed; a dead runner's items are taken over."""
    await repository.start_job(pool, job_id)
    async with _runner(pool) as runner:

        async def worker() -> None:
            while await _work_one(pool, stockx, job_id, runner, ttl_s):
                if progress is not None:
                    progress(await queries.job_finished(pool, job_id))

        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    await repository.finish_job(pool, job_id)
