"""Write side of enrichment jobs: jobs and their items, claims by live runners, outcomes.

A runner is alive while one idle session holds the session-level advisory lock on its id
(`lock_runner`); Postgres frees it when the session ends, kill -9 included, so `claim_item` may
take a claimed item at once when it can take its owner's lock itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from soleflip.common.db import Conn

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
DEFER_ITEM_SQL = """
UPDATE enrichment_item SET claimed_by = NULL, retries = retries + 1, detail = $3
WHERE job_id = $1 AND position = $2 AND status = 'pending'
"""
RETRY_FAILED_SQL = """
WITH reopened AS (
    UPDATE enrichment_item
    SET status = 'pending', claimed_by = NULL, product_id = NULL, candidates = '[]',
        detail = NULL, finished_at = NULL
    WHERE job_id = $1::uuid AND status = 'failed'
    RETURNING 1
), job AS (
    UPDATE enrichment_job SET status = 'pending', finished_at = NULL
    WHERE id = $1::uuid AND EXISTS (SELECT 1 FROM reopened)
)
SELECT count(*) FROM reopened
"""
START_JOB_SQL = "UPDATE enrichment_job SET status = 'running' WHERE id = $1 AND status = 'pending'"
FINISH_JOB_SQL = """
UPDATE enrichment_job SET status = 'done', finished_at = now()
WHERE id = $1 AND status <> 'done'
  AND NOT EXISTS (SELECT 1 FROM enrichment_item WHERE job_id = $1 AND status = 'pending')
"""


async def insert_job(conn: Conn, job_id: str, source: str, skus: Sequence[str]) -> None:
    """A pending job with one pending item per SKU, in order."""
    await conn.execute(CREATE_JOB_SQL, job_id, source, len(skus))
    await conn.execute(INSERT_ITEMS_SQL, job_id, list(range(len(skus))), list(skus))


async def start_job(db: Conn | asyncpg.Pool, job_id: str) -> None:
    """Mark a pending job running (`db`: a pool or a connection)."""
    await db.execute(START_JOB_SQL, job_id)


async def finish_job(db: Conn | asyncpg.Pool, job_id: str) -> None:
    """Mark the job done once no item of it is pending (a no-op before that)."""
    await db.execute(FINISH_JOB_SQL, job_id)


async def claim_item(db: Conn | asyncpg.Pool, job_id: str, runner: int) -> tuple[int, str] | None:
    """The next pending item of the job not held by a live runner, claimed by `runner`:
    its (position, sku), or None when none is left."""
    row = await db.fetchrow(CLAIM_ITEM_SQL, job_id, runner)
    return None if row is None else (row["position"], row["sku"])


async def finish_item(
    conn: Conn,
    job_id: str,
    position: int,
    *,
    status: str,
    product_id: str | None,
    candidates: list[dict[str, Any]],
    detail: str | None,
) -> None:
    """Store an item's outcome (only while it is still pending)."""
    await conn.execute(FINISH_ITEM_SQL, job_id, position, status, product_id, candidates, detail)


async def defer_item(db: Conn | asyncpg.Pool, job_id: str, position: int, detail: str) -> None:
    """Give a claimed item back, still pending: counted in `retries`, `detail` says why."""
    await db.execute(DEFER_ITEM_SQL, job_id, position, detail)


async def reopen_failed(db: Conn | asyncpg.Pool, job_id: str) -> int:
    """Put the job's failed items back to pending (and the job with them); how many."""
    return int(await db.fetchval(RETRY_FAILED_SQL, job_id) or 0)


async def lock_runner(conn: Conn, runner: int) -> None:
    """Hold `runner`'s liveness lock on this session until `unlock_runner` or its end."""
    await conn.execute(RUNNER_LOCK_SQL, runner)


async def unlock_runner(conn: Conn, runner: int) -> None:
    await conn.execute(RUNNER_UNLOCK_SQL, runner)
