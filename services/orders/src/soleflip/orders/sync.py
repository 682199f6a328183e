"""`soleflip sync orders|listings [--since DATE] [--adopt]`: a one-off backfill with a progress bar.

Runs the pollers' code once, outside the service (no consumers, no leader election): the same
upsert path, so a backfill and a running service can overlap safely.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from datetime import date

from soleflip.common.db import UnitOfWork
from soleflip.common.observability import configure_observability
from soleflip.common.progress import progress as progress_bar
from soleflip.common.runtime import ServiceRuntime
from soleflip.common.settings import Settings, load_settings
from soleflip.orders.app import SERVICE, STREAMS
from soleflip.orders.handlers import adopt_listings
from soleflip.orders.pollers import PollReport, poll_listings, poll_orders
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="soleflip sync", description=__doc__)
    parser.add_argument("what", choices=["orders", "listings"])
    parser.add_argument("--since", type=date.fromisoformat, help="YYYY-MM-DD (orders only)")
    parser.add_argument(
        "--adopt",
        action="store_true",
        help="listings: then adopt every active listing without a unit (cost unknown)",
    )
    return parser


async def backfill(
    settings: Settings,
    what: str,
    since: date | None,
    *,
    progress: bool = True,
    adopt: bool = False,
) -> tuple[PollReport, int]:
    """Poll `what` once (orders: history from `since`, or all of it) and return the report."""
    runtime = ServiceRuntime(SERVICE, settings, streams=STREAMS)
    service = OrdersService(runtime, OrdersSettings.from_settings(settings))
    bar = progress_bar(f"sync {what}", unit=what[:-1], disable=not progress)
    with contextlib.closing(bar):
        async with runtime.lifespan():
            if what == "orders":
                report = await poll_orders(service, since or date(2000, 1, 1), on_page=bar.update)
                return report, 0
            report = await poll_listings(service, full=True, on_page=bar.update)
            return report, await _adopt_all(service) if adopt else 0


async def _adopt_all(service: OrdersService) -> int:
    """Adopt every adoptable listing, a batch per transaction."""
    total, more = 0, True
    while more:
        async with UnitOfWork(service.pool) as uow:
            adopted, more = await adopt_listings(conn=uow.conn, source="adopt", now=service.now())
            await uow.commit()
        total += adopted
    return total


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point used by `soleflip sync` (argv: `<what> [--since DATE]`)."""
    args = _parser().parse_args(argv)
    settings = load_settings()
    configure_observability(SERVICE, settings, logs_to_stderr=True)
    if args.adopt and args.what != "listings":
        print("sync: --adopt goes with listings", file=sys.stderr)
        return 2
    report, adopted = asyncio.run(backfill(settings, args.what, args.since, adopt=args.adopt))
    seen = report.orders_seen if args.what == "orders" else report.listings_seen
    changed = report.orders_changed if args.what == "orders" else report.listings_changed
    print(f"sync {args.what}: {seen} seen, {changed} changed, {report.details} detail calls")
    if args.adopt:
        print(f"sync listings: {adopted} listings adopted as stock (cost unknown)")
    return 0
