"""The StockX poll fallback: converge with StockX whatever webhooks were lost.

One leader (across replicas) polls every `poll_interval_s`, start to start (the shared
`soleflip.common.polling` loop: a failed poll is retried after 2, 4, 8 … s), or at once when
asked. Each poll spends only what the data requires (`_orders`, `_listings`); every page goes
through the same upsert path as webhooks, in its own transaction; one failing order or listing
never stops a poll.
"""

from __future__ import annotations

import asyncio

from soleflip.common.observability import get_logger
from soleflip.common.polling import poll_forever
from soleflip.common.polls import PollLog
from soleflip.orders.control import serving_sync_requests
from soleflip.orders.handlers import settle_pending
from soleflip.orders.pollers._common import DETAIL_LIMIT, PollReport
from soleflip.orders.pollers._listings import CHANGEABLE_LISTINGS, poll_listings
from soleflip.orders.pollers._orders import poll_orders
from soleflip.orders.service import OrdersService

__all__ = [
    "CHANGEABLE_LISTINGS",
    "DETAIL_LIMIT",
    "PollReport",
    "poll_listings",
    "poll_once",
    "poll_orders",
    "run_operation_settler",
    "run_pollers",
]
log = get_logger(__name__)


async def poll_once(service: OrdersService, what: str = "all") -> PollReport:
    """One poll of orders, listings or both; returns the combined report."""
    report = PollReport()
    if what in ("all", "listings"):
        listings = await poll_listings(service)
        report.listings_seen, report.listings_changed = (
            listings.listings_seen,
            listings.listings_changed,
        )
        report.details += listings.details
        report.missing += listings.missing
    if what in ("all", "orders"):
        orders = await poll_orders(service)
        report.orders_seen, report.orders_changed = orders.orders_seen, orders.orders_changed
        report.details += orders.details
        report.history_from = orders.history_from
        report.missing += orders.missing
    log.info(
        "poll.done",
        orders_seen=report.orders_seen,
        orders_changed=report.orders_changed,
        listings_seen=report.listings_seen,
        listings_changed=report.listings_changed,
        details=report.details,
        missing=len(report.missing),
    )
    return report


async def run_pollers(service: OrdersService, record: PollLog | None = None) -> None:
    """The leader's loop: poll every interval, or at once on `POST /api/v1/sync` (sent to the
    leader over NATS by whichever replica received it); each run is written to `record`."""

    async def poll(requested: bool) -> None:
        what = service.poll_what if requested else "all"  # the interval's poll covers all
        service.poll_what = "all"
        service.polls_started += 1
        try:
            await poll_once(service, what)
        finally:
            service.polls_done += 1

    async with serving_sync_requests(service):
        await poll_forever(
            poll,
            name="orders",
            interval_s=service.options.poll_interval_s,
            wake=service.poll_now,
            record=record,
        )


async def run_operation_settler(service: OrdersService) -> None:
    """The leader's loop over unsettled listing operations (one pass per `operation_poll_s`)."""
    while True:
        try:
            await settle_pending(pool=service.pool, stockx=service.stockx)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("operations.settle_failed")
        await asyncio.sleep(service.options.operation_poll_s)
