"""A fee schedule from pricing (`pricing.fees.updated`): keep the copy, re-estimate unpaid sales.

Only sales without StockX's payout breakdown change: a breakdown is the truth and stays. Each
unpaid sale is estimated with the schedule in force at its creation, so a schedule effective
from today leaves older sales as they were.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from soleflip.common.contracts.pricing import PublishedFeeSchedule
from soleflip.common.db import Conn, enqueue_many
from soleflip.orders import repository as repo
from soleflip.orders.domain import EPOCH, FeeBook
from soleflip.orders.events import order_events

#: Unpaid sales re-estimated per statement (memory stays flat however many there are).
PAGE = 1000


async def apply_fee_schedules(
    published: Sequence[PublishedFeeSchedule],
    *,
    conn: Conn,
    load_fees: Callable[[Conn], Awaitable[FeeBook]],
) -> list[str]:
    """Store the schedules, then re-estimate every unpaid sale; returns the orders changed."""
    await repo.store_fee_schedules(conn, published)
    book = await load_fees(conn)
    changed: list[str] = []
    after = ""
    while True:
        page = await repo.unpaid_orders(conn, after, PAGE)
        estimates = [e for e in (_estimate(row, book) for row in page) if e is not None]
        written = await repo.set_estimates(conn, estimates)
        if written:
            await enqueue_many(conn, order_events(written))
        changed += [row["order_number"] for row in written]
        if len(page) < PAGE:
            return changed
        after = page[-1]["order_number"]


def _estimate(row: asyncpg.Record, book: FeeBook) -> repo.Estimate | None:
    """The new estimate of one sale, or None when it equals what is stored."""
    when = row["created_at"] or row["updated_at"] or EPOCH
    fees = book.estimate(row["amount"], row["currency"], when)
    if fees is None:
        if row["net_proceeds"] is None:
            return None
        return repo.Estimate(row["order_number"], None, None, None, None, None)
    if (fees.payout, fees.transaction_fee) == (row["net_proceeds"], row["transaction_fee"]):
        return None
    return repo.Estimate(
        row["order_number"],
        fees.transaction_fee,
        fees.processing_fee,
        fees.shipping_fee,
        fees.payout,
        "estimate",
    )
