"""`soleflip stock import <purchases.csv> [--dry-run]`: record purchases from a CSV file.

Talks to the orders database only (the running service's outbox relay publishes the new
units), a chunk of rows per transaction, with a progress bar on a terminal (a plain line every
10 s otherwise). Idempotent on `external_id`; columns as in the README. Prints what it did (or
would do) and every refused row with its line and reason; the exit status is 1 when a row was
refused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from soleflip.common.db import create_pool
from soleflip.common.errors import InvalidInput
from soleflip.common.progress import progress
from soleflip.common.settings import Settings, load_settings
from soleflip.orders.app import SERVICE
from soleflip.orders.handlers import ImportReport, import_purchases

#: The largest file read (the REST import takes SOLEFLIP_MAX_BODY_BYTES).
MAX_FILE_BYTES = 16 * 1024 * 1024


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="soleflip stock", description=__doc__)
    parser.add_argument("action", choices=["import"])
    parser.add_argument("file", type=Path, help="CSV with a header row")
    parser.add_argument("--dry-run", action="store_true", help="report only, record nothing")
    return parser


async def run_import(settings: Settings, text: str, *, dry_run: bool) -> ImportReport:
    pool = await create_pool(settings.database_url, schema=SERVICE, max_size=2)
    bar = progress("import", unit="row")
    try:
        with contextlib.closing(bar):
            return await import_purchases(text, pool=pool, dry_run=dry_run, on_progress=bar.update)
    finally:
        await pool.close()


def describe(report: ImportReport) -> list[str]:
    """The report as lines a person reads."""
    verb = "would record" if report.dry_run else "recorded"
    lines = [
        f"stock import: {report.rows} rows; {verb} {report.recorded} purchases "
        f"({report.units} units); {len(report.skipped)} already recorded; "
        f"{len(report.refused)} refused"
    ]
    lines += [f"  skipped {eid}: already recorded" for eid in report.skipped]
    lines += [
        f"  refused line {r.line} ({r.external_id or 'no external_id'}): {r.reason}"
        for r in report.refused
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point used by `soleflip stock`."""
    args = _parser().parse_args(argv)
    if args.file.stat().st_size > MAX_FILE_BYTES:
        print(f"stock import: {args.file} is over {MAX_FILE_BYTES} bytes", file=sys.stderr)
        return 2
    text = args.file.read_text(encoding="utf-8-sig")
    try:
        report = asyncio.run(run_import(load_settings(), text, dry_run=args.dry_run))
    except InvalidInput as exc:
        print(f"stock import: {exc.detail}", file=sys.stderr)
        return 2
    print("\n".join(describe(report)))
    return 1 if report.refused else 0
