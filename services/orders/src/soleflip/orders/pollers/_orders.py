"""The orders poll: active orders every poll; history and single orders only when needed.

* Active orders, all pages (StockX has no date filter there): the one call an idle shop pays.
* History from the watermark (a day of overlap) only when something can be there that we do
  not hold: an order we hold as active left the active list (read from its creation date), or
  `settled_interval_s` passed (orders created and finished between two polls whose listing we
  never held), or the first poll (all of it).
* A single-order call for each order we hold as active that neither list showed, and for each
  order a listing names that we do not hold (ORDER_SYNC priority).
* The order detail (shipment, tracking, payout) once per order and status while a field is
  missing, at the lowest priority, at most `details_per_poll` per poll.

A 404 flags the order (`stockx_missing_since`, a try counted); after `missing_max_tries` it is
no longer asked for, nor does it make history reach back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from soleflip.common.db import Conn, UnitOfWork, get_poll_state, set_poll_state
from soleflip.common.observability import get_logger
from soleflip.common.polling import each_item
from soleflip.common.stockx import OrderHistoryFilters, OrderSummary, Priority
from soleflip.orders import queries
from soleflip.orders import repository as repo
from soleflip.orders.pollers._common import (
    DETAIL_LIMIT,
    PAGE,
    OnPage,
    PollReport,
    apply_order_page,
    ignore_page,
    is_due,
    now_stamp,
    pages,
)
from soleflip.orders.service import OrdersService

log = get_logger(__name__)
HISTORY_STATE = "orders.history"
#: 404s of order numbers only a listing names (no order row to count them on): number -> tries.
MISSING_REFS_STATE = "orders.missing_refs"


async def poll_orders(
    service: OrdersService, since: date | None = None, on_page: OnPage | None = None
) -> PollReport:
    """Active orders, history when needed (always from `since` when given), then singles."""
    report = PollReport()
    async for page in pages(service.stockx.iter_active_orders(page_size=PAGE)):
        await _page(service, report, page, on_page)
    read, start = await _history_plan(service, report.seen, since)
    if read:
        report.history_read, report.history_from = True, start
        history = service.stockx.iter_order_history(OrderHistoryFilters(from_date=start))
        async for page in pages(history):
            await _page(service, report, page, on_page)
        await _save_history_state(service)
    await _single_orders(service, report)
    return report


async def _page(
    service: OrdersService, report: PollReport, page: list[OrderSummary], on_page: OnPage | None
) -> None:
    (on_page or ignore_page)(len(page))
    report.orders_seen += len(page)
    report.orders_changed += await apply_order_page(service, page)
    report.seen.update(o.order_number for o in page)


async def _history_plan(
    service: OrdersService, active_seen: set[str], since: date | None
) -> tuple[bool, date | None]:
    """Whether to read history this poll, and from when (None: all of it)."""
    async with service.pool.acquire() as conn:
        state = await get_poll_state(conn, HISTORY_STATE)
        vanished = await queries.vanished_since(
            conn, active_seen, service.options.missing_max_tries
        )
    if since is not None:
        return True, since
    if state is None:
        return True, None  # first poll: all of history (the backfill)
    if vanished is None and not is_due(state, "read_at", service.options.settled_interval_s):
        return False, None  # nothing can be there that we do not hold
    starts = [date.fromisoformat(state["watermark"])] if state.get("watermark") else []
    starts += [vanished] if vanished else []
    if not starts:
        return True, None
    return True, min(starts) - timedelta(days=service.options.history_overlap_days)


async def _save_history_state(service: OrdersService) -> None:
    async with UnitOfWork(service.pool) as uow:
        newest = await queries.newest_created(uow.conn)
        value = {"watermark": newest.isoformat() if newest else None, "read_at": now_stamp()}
        await set_poll_state(uow.conn, HISTORY_STATE, value)
        await uow.commit()


async def _single_orders(service: OrdersService, report: PollReport) -> None:
    tries = service.options.missing_max_tries
    async with service.pool.acquire() as conn:
        refs: dict[str, int] = (await get_poll_state(conn, MISSING_REFS_STATE) or {}).get(
            "tries", {}
        )
        given_up = [n for n, count in refs.items() if count >= tries]
        unseen = await queries.unseen_orders(conn, report.seen, tries, DETAIL_LIMIT, given_up)
    await _read_orders(service, report, unseen, Priority.ORDER_SYNC)
    async with service.pool.acquire() as conn:
        wanted = await queries.orders_needing_detail(conn, tries, service.options.details_per_poll)
    asked = set(unseen)
    await _read_orders(
        service, report, [n for n in wanted if n not in asked], Priority.CATALOG_REFRESH
    )


async def _read_orders(
    service: OrdersService, report: PollReport, numbers: Sequence[str], priority: Priority
) -> None:
    """One detail call per order; a 404 or a failing order never stops the others."""

    async def read(number: str) -> None:
        order = await service.stockx.get_order(number, priority=priority)
        report.orders_changed += await apply_order_page(service, [order], detail=True)

    result = await each_item(numbers, read, poller="orders", kind="order")
    report.details += result.calls
    if result.missing:
        async with UnitOfWork(service.pool) as uow:
            held = await repo.mark_orders_missing(uow.conn, result.missing)
            await _count_missing_refs(uow.conn, [n for n in result.missing if n not in held])
            await uow.commit()
        log.warning(
            "orders.missing_at_stockx", orders=result.missing[:20], count=len(result.missing)
        )
        report.missing += result.missing


async def _count_missing_refs(conn: Conn, numbers: Sequence[str]) -> None:
    if not numbers:
        return
    state = await get_poll_state(conn, MISSING_REFS_STATE) or {}
    refs: dict[str, int] = state.get("tries", {})
    for number in numbers:
        refs[number] = refs.get(number, 0) + 1
    await set_poll_state(conn, MISSING_REFS_STATE, {"tries": refs})
