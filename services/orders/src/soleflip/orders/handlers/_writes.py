"""Listing writes: each is a StockX async operation, tracked in `listing_operation` until settled.

The StockX call happens inside the unit of work, so the operation row, the stock unit's new
status and the placeholder listing commit together once StockX accepted the write.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import msgspec

from soleflip.common.db import UnitOfWork
from soleflip.common.errors import Conflict, NotFound
from soleflip.common.stockx import ListingOperation, StockXBadRequest, StockXClient, StockXNotFound
from soleflip.orders import queries
from soleflip.orders import repository as repo
from soleflip.orders.domain import FINAL_LISTING_STATUSES
from soleflip.orders.handlers._variants import resolve_variant

#: StockX's words for "this listing is already sold, expired or gone" (docs/stockx-api.md §5).
_ALREADY_DONE = ("can not perform this action", "already", "inactive")


@dataclass(frozen=True, slots=True)
class CreateListing:
    """List one stock unit on StockX at `amount` (whole units)."""

    stock_item_id: int
    amount: Decimal
    currency: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class ChangeListing:
    """Change a listing's price and/or switch it on or off."""

    listing_id: str
    amount: Decimal | None = None
    currency: str | None = None
    active: bool | None = None


@dataclass(frozen=True, slots=True)
class DeleteListing:
    """Take a listing off StockX."""

    listing_id: str


@dataclass(frozen=True, slots=True)
class WriteAccepted:
    """StockX accepted a write; `operation_id` is None when there was nothing left to do."""

    listing_id: str
    operation_id: str | None
    status: str


def is_already_done(error: str | None) -> bool:
    text = (error or "").lower()
    return any(marker in text for marker in _ALREADY_DONE)


async def _record(uow: UnitOfWork, op: ListingOperation, kind: str, request: object) -> None:
    await repo.record_operation(
        uow.conn,
        op.operation_id,
        op.listing_id,
        kind,
        status=op.operation_status or "PENDING",
        request=msgspec.json.encode(request).decode(),
    )


async def create_listing(
    command: CreateListing, *, uow: UnitOfWork, stockx: StockXClient
) -> WriteAccepted:
    """Resolve the unit's real variant, create the listing, remember the unit is listed."""
    unit = await repo.lock_stock_item(uow.conn, command.stock_item_id)
    if unit is None:
        raise NotFound(f"stock item {command.stock_item_id} does not exist")
    if unit["status"] != "IN_STOCK":
        raise Conflict(f"stock item {command.stock_item_id} is {unit['status']}, not IN_STOCK")
    variant_id = unit["variant_id"] or await resolve_variant(
        stockx, unit["sku"], unit["size"], unit["size_type"]
    )
    await repo.set_variant(uow.conn, command.stock_item_id, variant_id)
    op = await stockx.create_listing(
        variant_id, command.amount, currency_code=command.currency, active=command.active
    )
    await _record(uow, op, "CREATE", {"variant_id": variant_id, "amount": command.amount})
    await repo.claim_listing_for_stock(
        uow.conn, op.listing_id, variant_id, command.amount, command.currency, unit["id"]
    )
    await repo.mark_listed(uow.conn, command.stock_item_id, op.listing_id)
    return WriteAccepted(op.listing_id, op.operation_id, op.operation_status or "PENDING")


async def change_listing(
    command: ChangeListing, *, uow: UnitOfWork, stockx: StockXClient
) -> WriteAccepted:
    """A price change (PATCH) or an activate/deactivate (which may carry a price too)."""
    await _require_open(uow, command.listing_id)
    if command.active is True:
        op = await stockx.activate_listing(
            command.listing_id, amount=command.amount, currency_code=command.currency
        )
        kind = "ACTIVATE"
    elif command.active is False:
        op = await stockx.deactivate_listing(command.listing_id)
        kind = "DEACTIVATE"
    else:
        op = await stockx.update_listing(
            command.listing_id, amount=command.amount, currency_code=command.currency
        )
        kind = "UPDATE"
    await _record(uow, op, kind, {"amount": command.amount, "active": command.active})
    return WriteAccepted(op.listing_id, op.operation_id, op.operation_status or "PENDING")


async def _require_open(uow: UnitOfWork, listing_id: str) -> str:
    status = await queries.listing_status(uow.conn, listing_id)
    if status is None:
        raise NotFound(f"listing {listing_id} does not exist")
    if status in FINAL_LISTING_STATUSES:
        raise Conflict(f"listing {listing_id} is {status}: it can no longer change")
    return status


async def delete_listing(
    command: DeleteListing, *, uow: UnitOfWork, stockx: StockXClient
) -> WriteAccepted:
    """Delete; a listing already sold, expired or gone counts as done, never as a retry loop."""
    status = await queries.listing_status(uow.conn, command.listing_id)
    if status is None:
        raise NotFound(f"listing {command.listing_id} does not exist")
    if status in FINAL_LISTING_STATUSES:
        return WriteAccepted(command.listing_id, None, status)
    try:
        op = await stockx.delete_listing(command.listing_id)
    except (StockXBadRequest, StockXNotFound) as exc:
        if isinstance(exc, StockXNotFound) or is_already_done(str(exc)):
            return WriteAccepted(command.listing_id, None, "DONE")
        raise
    await _record(uow, op, "DELETE", {})
    return WriteAccepted(op.listing_id, op.operation_id, op.operation_status or "PENDING")
