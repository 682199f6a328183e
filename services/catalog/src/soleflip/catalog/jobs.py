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
from typing import Any

import asyncpg
import msgspec

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

CREATE_JOB_SQL = "INSERT INTO enrichment_job (id, source, total) VALUES ($1, $2, $3)"
INSERT_ITEMS_SQL = """
INSERT INTO enrichment_item (job_id, position, sku)
SELECT $1, p, s FROM unnest($2::int[], $3::text[]) AS t(p, s)
"""
# pg_try_advisory_xact_lock succeeds only on a dead runner's id (a live one holds it); the
# transaction-level lock it takes ends with this statement.
CLAIM_ITEM_SQL = """
UPDATE enrichment_item SET claimed_by = $2
WHERE job_id = $1 AND position = (
    SELECT position FROM enrichment_item
    WHERE job_id = $1 AND status = 'pending'
      AND (claimed_by IS NULL OR (claimed_by <> $2 AND pg_try_advisory_xact_lock(claimed_by)))
    ORDER BY position
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING position, sku
"""
RUNNER_LOCK_SQL = "SELECT pg_advisory_lock($1::bigint)"
RUNNER_UNLOCK_SQL = "SELECT pg_advisory_unlock($1::bigint)"
FINISH_ITEM_SQL = """
UPDATE enrichment_item
SET status = $3, product_id = $4::uuid, candidates = $5, detail = $6, finished_at = now()
WHERE job_id = $1 AND position = $2 AND status = 'pending'
"""
START_JOB_SQL = "UPDATE enrichment_job SET status = 'running' WHERE id = $1 AND status = 'pending'"
FINISH_JOB_SQL = """
UPDATE enrichment_job SET status = 'done', finished_at = now()
WHERE id = $1 AND status <> 'done'
  AND NOT EXISTS (SELECT 1 FROM enrichment_item WHERE job_id = $1 AND status = 'pending')
"""
OPEN_JOBS_SQL = "SELECT id::text FROM enrichment_job WHERE status <> 'done' ORDER BY created_at"
JOB_SQL = """
SELECT j.id::text AS id, j.status, j.source, j.total, j.created_at, j.finished_at,
       count(*) FILTER (WHERE i.status <> 'pending') AS finished,
       count(*) FILTER (WHERE i.status = 'resolved') AS resolved,
       count(*) FILTER (WHERE i.status = 'unresolved') AS unresolved,
       count(*) FILTER (WHERE i.status = 'failed') AS failed
FROM enrichment_job j LEFT JOIN enrichment_item i ON i.job_id = j.id
WHERE j.id = $1::uuid
GROUP BY j.id
"""
JOB_ITEMS_SQL = """
SELECT position, sku, status, product_id::text AS product_id, candidates, detail, finished_at
FROM enrichment_item WHERE job_id = $1::uuid ORDER BY position
"""
JOB_TOTAL_SQL = "SELECT total FROM enrichment_job WHERE id = $1"
FINISHED_COUNT_SQL = (
    "SELECT count(*) FROM enrichment_item WHERE job_id = $1 AND status <> 'pending'"
)

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
    await conn.execute(CREATE_JOB_SQL, job_id, source, len(kept))
    await conn.execute(INSERT_ITEMS_SQL, job_id, list(range(len(kept))), kept)
    return job_id, len(kept)


async def open_jobs(pool: asyncpg.Pool) -> list[str]:
    return [r[0] for r in await pool.fetch(OPEN_JOBS_SQL)]


async def job_total(pool: asyncpg.Pool, job_id: str) -> int:
    return int(await pool.fetchval(JOB_TOTAL_SQL, job_id) or 0)


async def job_finished(pool: asyncpg.Pool, job_id: str) -> int:
    return int(await pool.fetchval(FINISHED_COUNT_SQL, job_id) or 0)


async def job_status(conn: Conn, job_id: str) -> dict[str, Any] | None:
    """The job with its counts and per-SKU outcomes, or None."""
    row = await conn.fetchrow(JOB_SQL, job_id)
    if row is None:
        return None
    items = [dict(r) for r in await conn.fetch(JOB_ITEMS_SQL, job_id)]
    return {**dict(row), "items": items}


async def _finish_item(conn: Conn, job_id: str, position: int, outcome: EnrichOutcome) -> None:
    await conn.execute(
        FINISH_ITEM_SQL,
        job_id,
        position,
        outcome.status,
        outcome.product_id,
        [
            {"stockx_product_id": c.stockx_product_id, "style_id": c.style_id, "title": c.title}
            for c in outcome.candidates
        ],
        outcome.detail,
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
    row = await pool.fetchrow(CLAIM_ITEM_SQL, job_id, runner)
    if row is None:
        return False
    plan = await _plan_guarded(pool, stockx, row["sku"], ttl_s)
    async with UnitOfWork(pool) as uow:
        outcome = await _write_guarded(uow.conn, row["sku"], plan)
        await _finish_item(uow.conn, job_id, row["position"], outcome)
        await uow.conn.execute(FINISH_JOB_SQL, job_id)
        await uow.commit()
    return True


@contextlib.asynccontextmanager
async def _runner(pool: asyncpg.Pool) -> AsyncIterator[int]:
    """A runner id, alive (its advisory lock held by one idle session) until the block ends."""
    runner = secrets.randbits(63)
    async with pool.acquire() as conn:
        await conn.execute(RUNNER_LOCK_SQL, runner)
        try:
            yield runner
        finally:
            await conn.execute(RUNNER_UNLOCK_SQL, runner)


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
    await pool.execute(START_JOB_SQL, job_id)
    async with _runner(pool) as runner:

        async def worker() -> None:
            while await _work_one(pool, stockx, job_id, runner, ttl_s):
                if progress is not None:
                    progress(await job_finished(pool, job_id))

        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    await pool.execute(FINISH_JOB_SQL, job_id)
