"""The StockX poll fallback: converge with StockX whatever webhooks were lost.

One leader (across replicas) polls every `poll_interval_s`, or at once when asked. Each poll
spends only what the data requires:

* active orders, all pages (StockX has no date filter there);
* order history from a watermark, with a day of overlap, reaching back further only for orders
  we hold as active that the active list no longer shows;
* order detail only for orders missing a payout, or a shipment while they still must ship;
* listings that can still change (ACTIVE, INACTIVE, MATCHED), and expired ones (StockX hides
  them unless asked), all pages; a single-listing call only for a listing we hold as changeable
  that neither list showed (deleted on StockX, or completed/cancelled since).

Every page goes through the same upsert path as webhooks, in its own transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

from soleflip.common.db import UnitOfWork, get_poll_state, set_poll_state
from soleflip.common.observability import get_logger
from soleflip.common.stockx import (
    ListingFilters,
    ListingSummary,
    OrderHistoryFilters,
    OrderSummary,
    StockXNotFound,
)
from soleflip.orders import queries
from soleflip.orders.control import serving_sync_requests
from soleflip.orders.handlers import apply_listings, apply_orders, settle_pending
from soleflip.orders.service import OrdersService

log = get_logger(__name__)
T = TypeVar("T")
PAGE = 100
CHANGEABLE_LISTINGS = ("ACTIVE", "INACTIVE", "MATCHED")
FINISHED_LISTINGS = ("COMPLETED", "CANCELED")
HISTORY_STATE = "orders.history"
LISTINGS_STATE = "listings"
#: Single-resource calls per poll at most; the rest wait for the next poll.
DETAIL_LIMIT = 500


OnPage = Callable[[int], None]


def _ignore(_: int) -> None:
    return None


@dataclass(slots=True)
class PollReport:
    """What one poll saw and changed (for logs, `soleflip sync` and tests)."""

    orders_seen: int = 0
    orders_changed: int = 0
    listings_seen: int = 0
    listings_changed: int = 0
    details: int = 0
    history_from: date | None = None
    seen: set[str] = field(default_factory=set)


async def _pages(items: AsyncIterator[T], size: int = PAGE) -> AsyncIterator[list[T]]:
    page: list[T] = []
    async for item in items:
        page.append(item)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


async def _apply_orders(service: OrdersService, orders: Sequence[OrderSummary]) -> int:
    async with UnitOfWork(service.pool) as uow:
        fees = await service.fees(uow.conn)
        changed = await apply_orders(uow.conn, orders, fees=fees, source="poll")
        await uow.commit()
    return len(changed)


async def _apply_listings(service: OrdersService, listings: Sequence[ListingSummary]) -> int:
    async with UnitOfWork(service.pool) as uow:
        changed = await apply_listings(uow.conn, listings)
        await uow.commit()
    return len(changed)


async def poll_orders(
    service: OrdersService, since: date | None = None, on_page: OnPage | None = None
) -> PollReport:
    """Active orders, history from the watermark (or `since`), then missing details."""
    report = PollReport()
    on_page = on_page or _ignore
    async for page in _pages(service.stockx.iter_active_orders(page_size=PAGE)):
        on_page(len(page))
        report.orders_seen += len(page)
        report.orders_changed += await _apply_orders(service, page)
        report.seen.update(o.order_number for o in page)
    start = since or await _history_start(service, report.seen)
    report.history_from = start
    history = service.stockx.iter_order_history(OrderHistoryFilters(from_date=start))
    async for page in _pages(history):
        on_page(len(page))
        report.orders_seen += len(page)
        report.orders_changed += await _apply_orders(service, page)
    await _save_watermark(service)
    await _order_details(service, report)
    return report


async def _history_start(service: OrdersService, active_seen: set[str]) -> date | None:
    """The watermark minus the overlap, or earlier for vanished active orders; None at first."""
    async with service.pool.acquire() as conn:
        state = await get_poll_state(conn, HISTORY_STATE)
        vanished = await queries.vanished_since(conn, active_seen)
    if state is None:
        return None  # first poll: all of history (the backfill)
    starts = [date.fromisoformat(state["watermark"])] if state.get("watermark") else []
    starts += [vanished] if vanished else []
    if not starts:
        return None
    return min(starts) - timedelta(days=service.options.history_overlap_days)


async def _save_watermark(service: OrdersService) -> None:
    async with UnitOfWork(service.pool) as uow:
        newest = await queries.newest_created(uow.conn)
        value = {"watermark": newest.isoformat() if newest else None}
        await set_poll_state(uow.conn, HISTORY_STATE, value)
        await uow.commit()


async def _order_details(service: OrdersService, report: PollReport) -> None:
    async with service.pool.acquire() as conn:
        numbers = await queries.orders_needing_detail(conn, DETAIL_LIMIT)
    for number in numbers:
        order = await service.stockx.get_order(number)
        report.details += 1
        report.orders_changed += await _apply_orders(service, [order])


async def poll_listings(
    service: OrdersService, *, full: bool = False, on_page: OnPage | None = None
) -> PollReport:
    """Changeable listings and expired ones, all pages; then single calls for the unseen.

    The first poll (or `full`) reads every status once: finished listings never change again,
    so later polls skip them.
    """
    report = PollReport()
    async with service.pool.acquire() as conn:
        full = full or await get_poll_state(conn, LISTINGS_STATE) is None
    statuses = None if full else CHANGEABLE_LISTINGS
    for filters in (
        ListingFilters(listing_statuses=statuses),
        ListingFilters(is_expired=True),
    ):
        async for page in _pages(service.stockx.iter_listings(filters, page_size=PAGE)):
            (on_page or _ignore)(len(page))
            report.listings_seen += len(page)
            report.listings_changed += await _apply_listings(service, page)
            report.seen.update(x.listing_id for x in page)
    unseen = await _unseen(service, report)
    if len(unseen) > 1 and not full:
        await _finished_listings(service, report, len(unseen))
        unseen = await _unseen(service, report)
    for listing_id in unseen:
        with contextlib.suppress(StockXNotFound):  # ours, not created on StockX after all
            listing = await service.stockx.get_listing(listing_id)
            report.listings_changed += await _apply_listings(service, [listing])
        report.details += 1
    if full:
        async with UnitOfWork(service.pool) as uow:
            await set_poll_state(uow.conn, LISTINGS_STATE, {"backfilled": True})
            await uow.commit()
    return report


async def _unseen(service: OrdersService, report: PollReport) -> list[str]:
    async with service.pool.acquire() as conn:
        return await queries.unseen_listings(conn, report.seen, DETAIL_LIMIT)


async def _finished_listings(service: OrdersService, report: PollReport, unseen: int) -> None:
    """Many listings finished since the last poll: read the finished ones page by page when
    that costs fewer calls than one call per listing (the first page tells the count)."""
    filters = ListingFilters(listing_statuses=FINISHED_LISTINGS)
    number, pages = 1, 1
    while number <= pages:
        page = await service.stockx.list_listings(filters, page_number=number, page_size=PAGE)
        report.listings_changed += await _apply_listings(service, page.listings)
        report.seen.update(x.listing_id for x in page.listings)
        pages = math.ceil(page.count / PAGE) if page.has_next_page else number
        if number == 1 and pages - 1 >= unseen - 1:
            return  # the rest one by one is cheaper
        number += 1


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
    if what in ("all", "orders"):
        orders = await poll_orders(service)
        report.orders_seen, report.orders_changed = orders.orders_seen, orders.orders_changed
        report.details += orders.details
        report.history_from = orders.history_from
    log.info(
        "poll.done",
        orders_seen=report.orders_seen,
        orders_changed=report.orders_changed,
        listings_seen=report.listings_seen,
        listings_changed=report.listings_changed,
        details=report.details,
    )
    return report


async def run_pollers(service: OrdersService) -> None:
    """The leader's loop: poll, then wait for the interval or a `POST /api/v1/sync` (sent to
    the leader over NATS by whichever replica received it)."""
    async with serving_sync_requests(service):
        await _poll_forever(service)


async def _poll_forever(service: OrdersService) -> None:
    what = "all"
    while True:
        service.poll_now.clear()
        try:
            await poll_once(service, what)
        except asyncio.CancelledError:
            raise
        except Exception:
            # StockX down or the budget exhausted: the next interval tries again.
            log.exception("poll.failed")
        service.polls_done += 1
        what = "all"  # the interval's poll covers everything
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(service.poll_now.wait(), service.options.poll_interval_s)
            what, service.poll_what = service.poll_what, "all"


async def run_operation_settler(service: OrdersService) -> None:
    """The leader's loop over unsettled listing operations (one pass per `operation_poll_s`)."""
    while True:
        try:
            await settle_pending(service.pool, service.stockx)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("operations.settle_failed")
        await asyncio.sleep(service.options.operation_poll_s)
