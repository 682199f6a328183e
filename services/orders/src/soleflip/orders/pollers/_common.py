"""What the orders and listings polls share: the report, paging, the upsert per page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from soleflip.common.db import UnitOfWork
from soleflip.common.stockx import ListingSummary, OrderSummary
from soleflip.orders import repository as repo
from soleflip.orders.handlers import apply_listings, apply_orders
from soleflip.orders.service import OrdersService

T = TypeVar("T")
PAGE = 100
#: Single-resource calls per poll at most; the rest wait for the next poll.
DETAIL_LIMIT = 500
OnPage = Callable[[int], None]


def ignore_page(_: int) -> None:
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
    history_read: bool = False
    expired_read: bool = False
    seen: set[str] = field(default_factory=set)
    #: Orders or listings StockX answered 404 for in this poll.
    missing: list[str] = field(default_factory=list)


async def pages(items: AsyncIterator[T], size: int = PAGE) -> AsyncIterator[list[T]]:
    page: list[T] = []
    async for item in items:
        page.append(item)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


async def apply_order_page(
    service: OrdersService, orders: Sequence[OrderSummary], *, detail: bool = False
) -> int:
    """Upsert orders a StockX call returned; with `detail`, they are full order details."""
    numbers = [o.order_number for o in orders]
    async with UnitOfWork(service.pool) as uow:
        fees = await service.fees(uow.conn)
        changed = await apply_orders(orders, conn=uow.conn, fees=fees, source="poll")
        await repo.orders_seen(uow.conn, numbers)
        if detail:
            await repo.detail_read(uow.conn, numbers)
        await uow.commit()
    return len(changed)


async def apply_listing_page(
    service: OrdersService, listings: Sequence[ListingSummary], *, expired: bool | None
) -> int:
    """Upsert listings; `expired` says which list showed them (None: a single-listing call)."""
    async with UnitOfWork(service.pool) as uow:
        changed = await apply_listings(listings, conn=uow.conn)
        await repo.listings_seen(uow.conn, [x.listing_id for x in listings], expired=expired)
        await uow.commit()
    return len(changed)


def is_due(state: dict[str, Any] | None, key: str, every_s: float) -> bool:
    """Whether the read stamped `key` in a poll-state document is older than `every_s`."""
    stamp = (state or {}).get(key)
    if not stamp:
        return True
    return (datetime.now(UTC) - datetime.fromisoformat(stamp)).total_seconds() >= every_s


def now_stamp() -> str:
    return datetime.now(UTC).isoformat()
