"""Settling listing operations, and repricing commands (single or batch updates).

A write is done when StockX says SUCCEEDED or FAILED; then the listing is read back once so the
row shows what StockX now holds. A FAILED delete of a listing that is already sold, expired or
gone is recorded as done: retrying it would fail forever.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import asyncpg
import msgspec

from soleflip.common.contracts.pricing import RepriceRequest
from soleflip.common.db import Conn, UnitOfWork
from soleflip.common.stockx import (
    MAX_BATCH_ITEMS,
    BatchUpdateItem,
    ListingFilters,
    StockXClient,
    format_amount,
)
from soleflip.orders import queries
from soleflip.orders import repository as repo
from soleflip.orders.domain import FINAL_LISTING_STATUSES
from soleflip.orders.handlers._sync import apply_listings
from soleflip.orders.handlers._writes import is_already_done

_BATCH_ITEM_STATUS = {"COMPLETED": "SUCCEEDED", "FAILED": "FAILED"}


async def settle_operation(
    pending: asyncpg.Record, *, pool: asyncpg.Pool, stockx: StockXClient
) -> bool:
    """Check one single-listing operation; returns True once it is settled."""
    op = await stockx.get_listing_operation(pending["listing_id"], pending["operation_id"])
    if not op.is_final:
        async with pool.acquire() as conn:
            await repo.touch_operation(conn, pending["operation_id"])
        return False
    status, error = op.operation_status or "FAILED", op.error
    if status == "FAILED" and pending["kind"] == "DELETE" and is_already_done(error):
        status = "SUCCEEDED"  # the listing was already gone: the delete's goal holds
    listing = await stockx.get_listing(pending["listing_id"])
    async with UnitOfWork(pool) as uow:
        await repo.settle_operation(uow.conn, pending["operation_id"], status, error)
        await apply_listings([listing], conn=uow.conn)
        await uow.commit()
    return True


async def settle_batch(
    batch_id: str, pending: Sequence[asyncpg.Record], *, pool: asyncpg.Pool, stockx: StockXClient
) -> bool:
    """Check one update batch; when COMPLETED settle each item and read its listings back."""
    batch = await stockx.get_listings_batch("update", batch_id)
    if not batch.is_final:
        return False
    items = await stockx.get_listings_batch_items("update", batch_id)
    outcome: dict[str, tuple[str, str | None]] = {}
    for item in items:
        listing_id = (item.listing_input.listing_id if item.listing_input else None) or (
            item.result.listing_id if item.result else None
        )
        if listing_id:
            outcome[listing_id] = (_BATCH_ITEM_STATUS.get(item.status or "", "FAILED"), item.error)
    listings = [x async for x in stockx.iter_listings(ListingFilters(batch_ids=[batch_id]))]
    async with UnitOfWork(pool) as uow:
        for row in pending:
            status, error = outcome.get(row["listing_id"], ("FAILED", "not in the batch result"))
            await repo.settle_operation(uow.conn, row["operation_id"], status, error)
        await apply_listings(listings, conn=uow.conn)
        await uow.commit()
    return True


async def settle_pending(*, pool: asyncpg.Pool, stockx: StockXClient, limit: int = 100) -> int:
    """One pass over unsettled operations; returns how many settled."""
    async with pool.acquire() as conn:
        pending = await repo.pending_operations(conn, limit)
    batches: dict[str, list[asyncpg.Record]] = defaultdict(list)
    settled = 0
    for row in pending:
        if row["batch_id"]:
            batches[row["batch_id"]].append(row)
        elif await settle_operation(row, pool=pool, stockx=stockx):
            settled += 1
    for batch_id, rows in batches.items():
        if await settle_batch(batch_id, rows, pool=pool, stockx=stockx):
            settled += len(rows)
    return settled


def _still_wanted(request: RepriceRequest, current: queries.ListingAmount | None) -> bool:
    """Drop commands for unknown or finished listings, stale ones, and no-ops."""
    if current is None or current.status in FINAL_LISTING_STATUSES:
        return False
    if request.previous is not None and current.amount != request.previous.amount:
        return False  # the listing changed since pricing decided: its command is stale
    return bool(current.amount != request.amount.amount)


async def reprice_listings(
    requests: Sequence[RepriceRequest], *, conn: Conn, stockx: StockXClient, threshold: int
) -> int:
    """Apply repricing commands: one batch update per 100 when many, single updates otherwise.

    Writes in the caller's transaction (with the consumer's inbox claims); returns the count sent.
    """
    latest = {r.listing_id: r for r in requests}  # the last command per listing wins
    current = await queries.listing_amounts(conn, list(latest))
    wanted = [r for r in latest.values() if _still_wanted(r, current.get(r.listing_id))]
    if len(wanted) > threshold:
        for start in range(0, len(wanted), MAX_BATCH_ITEMS):
            await _batch_update(conn, stockx, wanted[start : start + MAX_BATCH_ITEMS])
        return len(wanted)
    for request in wanted:
        op = await stockx.update_listing(
            request.listing_id, amount=request.amount.amount, currency_code=request.amount.currency
        )
        body = msgspec.json.encode({"amount": format_amount(request.amount.amount)}).decode()
        await repo.record_operation(conn, op.operation_id, op.listing_id, "UPDATE", request=body)
    return len(wanted)


async def _batch_update(conn: Conn, stockx: StockXClient, chunk: list[RepriceRequest]) -> None:
    items = [
        BatchUpdateItem(
            listing_id=r.listing_id, amount=r.amount.amount, currency_code=r.amount.currency
        )
        for r in chunk
    ]
    batch = await stockx.update_listings_batch(items)
    for request in chunk:
        await repo.record_operation(
            conn,
            f"{batch.batch_id}:{request.listing_id}",
            request.listing_id,
            "BATCH_UPDATE",
            batch_id=batch.batch_id,
            request=msgspec.json.encode({"amount": str(request.amount.amount)}).decode(),
        )
