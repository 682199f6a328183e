"""Apply StockX orders and listings, from webhooks and polls alike (one upsert path).

Handlers here write in the caller's transaction and do not commit: a consumer batch claims its
events, applies every snapshot and enqueues the resulting events in one unit of work, so the
claim, the rows and the outbox land together or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

import asyncpg

from soleflip.common.db import Conn, enqueue_fresh, enqueue_many
from soleflip.common.stockx import ListingSummary, OrderSummary
from soleflip.orders import repository as repo
from soleflip.orders.domain import EPOCH, FeeBook, newer_chain, version
from soleflip.orders.events import listing_events, order_events, stock_events
from soleflip.orders.handlers._rows import listing_row, listing_version, order_row, order_version

T = TypeVar("T")
#: Listing statuses that end a listing without a sale: its unit goes back to stock.
_UNSOLD_END = ("DELETED", "CANCELED")


def _chains(
    items: Sequence[T],
    key: Callable[[T], str],
    ver: Callable[[T], tuple[datetime, int]],
    stored: dict[str, tuple[datetime, int]],
) -> dict[str, list[T]]:
    """Per resource, the snapshots that move it forward (oldest first), dropping the rest."""
    grouped: dict[str, list[tuple[tuple[datetime, int], int]]] = defaultdict(list)
    for index, item in enumerate(items):
        grouped[key(item)].append((ver(item), index))
    chains: dict[str, list[T]] = {}
    for k, snaps in grouped.items():
        chain = newer_chain(snaps, stored.get(k))  # once per resource, not twice
        if chain:
            chains[k] = [items[i] for i in chain]
    return chains


def _stored(rows: Mapping[str, asyncpg.Record]) -> dict[str, tuple[datetime, int]]:
    return {k: version(r["updated_at"], r["status_rank"]) for k, r in rows.items()}


async def apply_orders(
    orders: Sequence[OrderSummary], *, conn: Conn, fees: FeeBook, source: str
) -> set[str]:
    """Move orders forward, record each status entered, link sales, price them, publish.

    Returns the order numbers that changed.
    """
    if not orders:
        return set()
    locked = await repo.lock_orders(conn, list({o.order_number for o in orders}))
    stored = _stored(locked)
    chains = _chains(orders, lambda o: o.order_number, order_version, stored)
    rows = [order_row(chain[-1], fees) for chain in chains.values()]
    # An equal version may still fill what a list page lacks (payout, shipment): the upsert's
    # guard decides whether it changes anything.
    same = {
        o.order_number: o
        for o in orders
        if o.order_number not in chains and stored.get(o.order_number) == order_version(o)
    }
    rows += [order_row(o, fees) for o in same.values()]
    written = await repo.upsert_orders(conn, rows)
    await repo.insert_history(conn, _history(orders, source))
    return await after_orders(set(written), conn=conn, source=source, written=written)


def _history(orders: Sequence[OrderSummary], source: str) -> list[repo.StatusChange]:
    """Every (status, time) fact of the batch, including late ones that no longer move the row:
    the history is a log of what happened, and redelivery after a crash arrives out of order."""
    facts = {(o.order_number, o.status or "UNKNOWN", o.updated_at or EPOCH) for o in orders}
    return [repo.StatusChange(n, s, at, source) for n, s, at in sorted(facts)]


async def after_orders(
    changed: set[str],
    *,
    conn: Conn,
    source: str,
    reason: str = "sale",
    written: Mapping[str, asyncpg.Record] | None = None,
) -> set[str]:
    """Link and price changed orders, publish them and the units they moved. `written`: the
    orders as the caller's upsert returned them."""
    if not changed:
        return changed
    numbers = sorted(changed)
    moved = await repo.link_and_price(conn, numbers, source, reason=reason)
    if moved is None and written is not None:
        rows = [written[n] for n in numbers]  # nothing but the upsert wrote them
    else:
        # Read back: releasing, linking (by listing, by variant) and pricing are four
        # statements that may each change some of these orders after they were written.
        rows = await repo.select_orders(conn, numbers)
    # Events made here carry fresh ids: one COPY, without ON CONFLICT's speculative insertion
    # (a quarter of the enqueue's Postgres time; the unique event id still holds).
    await enqueue_fresh(conn, order_events(rows))
    if moved:
        await enqueue_fresh(conn, stock_events(moved))
    return changed


async def apply_listings(
    listings: Sequence[ListingSummary], *, conn: Conn, source: str = "poll"
) -> set[str]:
    """Move listings forward and publish; units of listings that ended unsold are released.

    `source` (poll, webhook, api) goes into the released units' history.
    """
    if not listings:
        return set()
    locked = await repo.lock_listings(conn, list({x.listing_id for x in listings}))
    chains = _chains(listings, lambda x: x.listing_id, listing_version, _stored(locked))
    rows = [listing_row(chain[-1]) for chain in chains.values()]
    stored = await repo.upsert_listings(conn, rows)
    if not stored:
        return set()
    ended = [r["listing_id"] for r in stored if r["status"] in _UNSOLD_END]
    if ended:
        await repo.stock_context(conn, source)
    released = await repo.release_units(conn, ended) if ended else []
    await enqueue_many(conn, listing_events(stored))
    if released:
        await enqueue_many(conn, stock_events(released))
    return {r["listing_id"] for r in stored}
