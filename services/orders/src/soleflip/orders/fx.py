"""`soleflip fx import <csv>`: store the ECB's euro reference rates (eurofxref.csv or
eurofxref-hist.csv) with their date and source, then reprice sales converted with them.

Reads the file line by line and writes 5,000 rates per transaction, so memory stays flat for the
whole history file (~7,000 days). Lines that break a bound are skipped and reported; `--dry-run`
parses and reports without writing. Format: `soleflip.common.fx`, README "Currencies".
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from soleflip.common.db import UnitOfWork, create_pool
from soleflip.common.fx import FxFormatError, Rate, parse_ecb_csv
from soleflip.common.settings import load_settings
from soleflip.orders.app import SERVICE
from soleflip.orders.handlers import record_rates

CHUNK = 5000


@dataclass
class ImportReport:
    """What an import read, stored and refused."""

    rates: int = 0
    changed: int = 0
    days: set[object] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)


def _chunks(rates: Iterator[Rate]) -> Iterator[list[Rate]]:
    while chunk := list(islice(rates, CHUNK)):
        yield chunk


async def import_rates(
    dsn: str, path: Path, *, source: str = "ECB", dry_run: bool = False
) -> ImportReport:
    """Import one ECB CSV file into orders' `fx_rate`; raises FxFormatError on a wrong layout."""
    report = ImportReport()
    pool = None if dry_run else await create_pool(dsn, schema=SERVICE, max_size=1)
    try:
        with path.open(newline="", encoding="utf-8-sig") as lines:
            for chunk in _chunks(parse_ecb_csv(lines, report.refused)):
                report.rates += len(chunk)
                report.days.update(r.day for r in chunk)
                if pool is not None:
                    async with UnitOfWork(pool) as uow:
                        report.changed += await record_rates(chunk, conn=uow.conn, source=source)
                        await uow.commit()
    finally:
        if pool is not None:
            await pool.close()
    return report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="soleflip fx", description=__doc__)
    parser.add_argument("action", choices=["import"])
    parser.add_argument("csv", type=Path, help="an ECB reference-rates CSV file")
    parser.add_argument("--source", default="ECB", help="stored with every rate (default ECB)")
    parser.add_argument("--dry-run", action="store_true", help="parse and report, write nothing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `soleflip fx import <csv>`; exit status 1 when a line was refused."""
    args = _parser().parse_args(argv)
    source = args.source.strip()
    if not source or len(source) > 100 or "\x00" in source:
        print("soleflip fx: --source must be 1 to 100 characters", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(
            import_rates(
                load_settings().database_url, args.csv, source=source, dry_run=args.dry_run
            )
        )
    except (OSError, FxFormatError) as exc:
        print(f"soleflip fx: {exc}", file=sys.stderr)
        return 2
    verb = "would store" if args.dry_run else f"stored ({report.changed} new or changed)"
    print(f"fx import: {report.rates} rates of {len(report.days)} days read, {verb}")
    for problem in report.refused:
        print(f"refused {problem}", file=sys.stderr)
    return 1 if report.refused else 0
