"""The listings poll: changeable listings every poll; expired ones and singles only when needed.

* Listings that can still change (ACTIVE, INACTIVE, MATCHED), all pages: the one call an idle
  shop pays. The first poll (or `full`) reads every status once: finished listings never change
  again, so later polls skip them.
* The expired listings (hidden from the default list) only when a listing we hold as changeable
  left that list (it may have expired), or `settled_interval_s` passed (an expired listing
  changes only by being renewed, when it is in the changeable list again, or deleted).
* Finished listings page by page when many left the lists, else a single-listing call for each
  listing we hold as changeable that no page showed (deleted on StockX, completed or cancelled).

A 404 flags the listing; after `missing_max_tries` it is no longer asked for.
"""

from __future__ import annotations

import math

from soleflip.common.db import UnitOfWork, get_poll_state, set_poll_state
from soleflip.common.observability import get_logger
from soleflip.common.polling import each_item
from soleflip.common.stockx import ListingFilters, ListingSummary
from soleflip.orders import queries
from soleflip.orders import repository as repo
from soleflip.orders.pollers._common import (
    DETAIL_LIMIT,
    PAGE,
    OnPage,
    PollReport,
    apply_listing_page,
    ignore_page,
    is_due,
    now_stamp,
    pages,
)
from soleflip.orders.service import OrdersService

log = get_logger(__name__)
CHANGEABLE_LISTINGS = ("ACTIVE", "INACTIVE", "MATCHED")
FINISHED_LISTINGS = ("COMPLETED", "CANCELED")
LISTINGS_STATE = "listings"


async def poll_listings(
    service: OrdersService, *, full: bool = False, on_page: OnPage | None = None
) -> PollReport:
    """Changeable listings, expired ones when needed, then what no page showed (module doc)."""
    report = PollReport()
    async with service.pool.acquire() as conn:
        state = await get_poll_state(conn, LISTINGS_STATE)
    full = full or state is None
    statuses = None if full else CHANGEABLE_LISTINGS
    await _read(service, report, ListingFilters(listing_statuses=statuses), False, on_page)
    report.expired_read = (
        full
        or is_due(state, "expired_read_at", service.options.settled_interval_s)
        or bool(await _unseen(service, report, limit=1))
    )
    if report.expired_read:
        await _read(service, report, ListingFilters(is_expired=True), True, on_page)
    unseen = await _unseen(service, report)
    if len(unseen) > 1 and not full:
        await _finished_listings(service, report, len(unseen))
        unseen = await _unseen(service, report)
    await _single_listings(service, report, unseen)
    await _save_state(service, state, report)
    return report


async def _read(
    service: OrdersService,
    report: PollReport,
    filters: ListingFilters,
    expired: bool,
    on_page: OnPage | None,
) -> None:
    async for page in pages(service.stockx.iter_listings(filters, page_size=PAGE)):
        (on_page or ignore_page)(len(page))
        await _page(service, report, page, expired)


async def _page(
    service: OrdersService, report: PollReport, page: list[ListingSummary], expired: bool | None
) -> None:
    report.listings_seen += len(page)
    report.listings_changed += await apply_listing_page(service, page, expired=expired)
    report.seen.update(x.listing_id for x in page)


async def _unseen(
    service: OrdersService, report: PollReport, limit: int = DETAIL_LIMIT
) -> list[str]:
    async with service.pool.acquire() as conn:
        return await queries.unseen_listings(
            conn,
            report.seen,
            expired_read=report.expired_read,
            max_tries=service.options.missing_max_tries,
            limit=limit,
        )


async def _finished_listings(service: OrdersService, report: PollReport, unseen: int) -> None:
    """Many listings finished since the last poll: read the finished ones page by page when
    that costs fewer calls than one call per listing (the first page tells the count)."""
    filters = ListingFilters(listing_statuses=FINISHED_LISTINGS)
    number, count = 1, 1
    while number <= count:
        page = await service.stockx.list_listings(filters, page_number=number, page_size=PAGE)
        await _page(service, report, list(page.listings), False)
        count = math.ceil(page.count / PAGE) if page.has_next_page else number
        if number == 1 and count - 1 >= unseen - 1:
            return  # the rest one by one is cheaper
        number += 1


async def _single_listings(service: OrdersService, report: PollReport, ids: list[str]) -> None:
    async def read(listing_id: str) -> None:
        listing = await service.stockx.get_listing(listing_id)
        report.listings_changed += await apply_listing_page(service, [listing], expired=None)

    result = await each_item(ids, read, poller="orders", kind="listing")
    report.details += result.calls
    if result.missing:
        async with UnitOfWork(service.pool) as uow:
            await repo.mark_listings_missing(uow.conn, result.missing)
            await uow.commit()
        log.warning(
            "listings.missing_at_stockx", listings=result.missing[:20], count=len(result.missing)
        )
        report.missing += result.missing


async def _save_state(
    service: OrdersService, state: dict[str, object] | None, report: PollReport
) -> None:
    value = dict(state or {}) | {"backfilled": True}
    if report.expired_read:
        value["expired_read_at"] = now_stamp()
    async with UnitOfWork(service.pool) as uow:
        await set_poll_state(uow.conn, LISTINGS_STATE, value)
        await uow.commit()
