"""`soleflip sync catalog`: finish unfinished enrichment jobs, then enrich the given SKUs.

    soleflip sync catalog                       # resume every unfinished job
    soleflip sync catalog --retry-failed [--job ID]   # and retry failed items first
    python -m soleflip.catalog.sync catalog --file skus.txt [--sku DD1391-100 ...]

SKUs go into a job (the same as `POST /api/v1/products/enrich`), so a killed run is resumed by
the next one without repeating finished SKUs' StockX calls. `--since DATE` also refreshes the
products last enriched before DATE. Progress goes to stderr (a bar on a terminal, a plain
line otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from soleflip.catalog import jobs, queries
from soleflip.catalog.app import SERVICE
from soleflip.catalog.pollers import refresh_round
from soleflip.catalog.settings import CatalogSettings
from soleflip.common.bus import Names, connect, disconnect
from soleflip.common.db import create_pool
from soleflip.common.observability import configure_observability
from soleflip.common.progress import progress as progress_bar
from soleflip.common.settings import Settings, load_settings
from soleflip.common.stockx import StockXClient


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="soleflip sync", description=__doc__)
    parser.add_argument("what", choices=["catalog"])
    parser.add_argument("--since", help="also refresh products enriched before this date")
    parser.add_argument("--sku", action="append", default=[], help="a SKU (repeatable)")
    parser.add_argument("--file", help="SKUs, one per line ('-' reads stdin)")
    parser.add_argument(
        "--retry-failed", action="store_true", help="put failed items of every job back first"
    )
    parser.add_argument("--job", help="with --retry-failed: only this job's failed items")
    parser.add_argument("--concurrency", type=int, default=jobs.DEFAULT_CONCURRENCY)
    return parser


def read_skus(args: argparse.Namespace) -> list[str]:
    skus = list(args.sku)
    if args.file:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        skus += [line.strip() for line in text.splitlines() if line.strip()]
    return skus


async def _run_job(
    pool: asyncpg.Pool,
    client: StockXClient,
    job_id: str,
    args: argparse.Namespace,
    options: CatalogSettings,
) -> None:
    total = await queries.job_total(pool, job_id)
    with progress_bar(f"job {job_id[:8]}", total=total, unit="sku") as bar:

        def progress(done: int) -> None:
            bar.update(done - bar.n)

        await jobs.run_job(
            pool,
            client,
            job_id,
            ttl_s=options.refresh_ttl_s,
            concurrency=args.concurrency,
            progress=progress,
        )
        progress(await queries.job_finished(pool, job_id))


def since_age_s(since: str) -> float:
    """Seconds since `since` (ISO 8601 date or time; UTC unless it names its zone)."""
    moment = datetime.fromisoformat(since)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (datetime.now(UTC) - moment).total_seconds()


async def _refresh_before(pool: asyncpg.Pool, client: StockXClient, since: str) -> None:
    age_s = since_age_s(since)
    with progress_bar("refresh", unit="product") as bar:
        while True:
            outcomes = await refresh_round(pool, client, ttl_s=age_s)
            done = sum(outcomes[kind] for kind in ("refreshed", "remapped", "lost"))
            bar.update(done)
            if not done:  # nothing older left (or only failures: stop rather than spin)
                return


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Resume open jobs, start one for the given SKUs, refresh old products; exit status."""
    options = CatalogSettings.from_settings(settings)
    names = Names(settings.nats_prefix)
    pool = await create_pool(settings.database_url, schema=SERVICE, max_size=args.concurrency + 2)
    nc = await connect(settings.nats_url, name="soleflip-sync-catalog")
    try:
        async with await StockXClient.connect(settings, nc.jetstream(), names=names) as client:
            if args.retry_failed:
                retried = await jobs.retry_failed(pool, args.job)
                print(f"{retried} failed item(s) back to pending", file=sys.stderr)
            skus = read_skus(args)
            if skus:
                async with pool.acquire() as conn:
                    await jobs.create_job(conn, skus, source="cli")
            for job_id in await queries.open_jobs(pool):
                await _run_job(pool, client, job_id, args, options)
            if args.since:
                await _refresh_before(pool, client, args.since)
    finally:
        await disconnect(nc)
        await pool.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `soleflip sync catalog` (argv: `catalog [--since DATE] ...`)."""
    args = _parser().parse_args(argv)
    settings = load_settings()
    configure_observability("catalog-sync", settings, logs_to_stderr=True)
    return asyncio.run(run(settings, args))


if __name__ == "__main__":
    sys.exit(main())
