"""Fixing a sale's stock unit by hand (`PUT /api/v1/orders/{n}/stock-item`), with history."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from soleflip.common.db import UnitOfWork, enqueue_many
from soleflip.common.errors import Conflict, NotFound
from soleflip.orders import repository as repo
from soleflip.orders.domain import NO_SALE_STATUSES
from soleflip.orders.events import stock_events
from soleflip.orders.handlers._sync import after_orders

#: Units a sale may be given by hand: not sold, shipped, kept, written off or returned.
_LINKABLE = frozenset({"IN_STOCK", "ORDERED", "LISTED"})


@dataclass(frozen=True, slots=True)
class LinkStock:
    """Give sale `order_number` the unit `stock_item_id` (None: no unit)."""

    order_number: str
    stock_item_id: int | None


async def link_stock_by_hand(command: LinkStock, *, uow: UnitOfWork, actor: str | None) -> None:
    """Link the sale to the unit by hand; the link is never changed automatically."""
    order_number, stock_item_id = command.order_number, command.stock_item_id
    order = await repo.lock_order_link(uow.conn, order_number)
    if order is None:
        raise NotFound(f"order {order_number} is not known")
    if order["status"] in NO_SALE_STATUSES:
        raise Conflict(f"order {order_number} is {order['status']}: it sold nothing")
    if stock_item_id is not None and stock_item_id != order["stock_item_id"]:
        await _check_free(uow, stock_item_id)
    reason = f"linked by hand to {order_number}"
    await repo.stock_context(uow.conn, "api", actor=actor, reason=reason)
    freed: list[asyncpg.Record] = []
    if order["stock_item_id"] is not None and order["stock_item_id"] != stock_item_id:
        freed = await repo.unlink_unit(uow.conn, order["stock_item_id"], order_number)
    await repo.set_order_link(uow.conn, order_number, stock_item_id)
    # The sale now holds another unit (or none): linking and pricing leave the freed one alone.
    await after_orders({order_number}, conn=uow.conn, source="api", reason=reason)
    if freed:
        await enqueue_many(uow.conn, stock_events(freed))


async def _check_free(uow: UnitOfWork, stock_item_id: int) -> None:
    unit = await repo.lock_stock_item(uow.conn, stock_item_id)
    if unit is None:
        raise NotFound(f"stock item {stock_item_id} does not exist")
    if unit["order_number"] is not None or unit["status"] not in _LINKABLE:
        raise Conflict(
            f"stock item {stock_item_id} is {unit['status']}"
            + (f" for order {unit['order_number']}" if unit["order_number"] else "")
            + f"; a sale takes a unit that is {', '.join(sorted(_LINKABLE))}"
        )
