"""Controller for listings: every listing write answers 202 with its operation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream

from soleflip.common.contracts.bounds import PositiveMoney, RowId
from soleflip.common.db import UnitOfWork
from soleflip.common.errors import InvalidInput, NotFound
from soleflip.common.http import requires, wants_csv
from soleflip.orders import queries
from soleflip.orders import repository as repo
from soleflip.orders.handlers import (
    ChangeListing,
    CreateListing,
    DeleteListing,
    WriteAccepted,
    change_listing,
    create_listing,
    delete_listing,
)
from soleflip.orders.http._export import Format, listings_csv
from soleflip.orders.http._params import (
    actor_of,
    decode_cursor,
    encode_cursor,
    limit_of,
    statuses_of,
)
from soleflip.orders.http._views import ListingView, Page, listing_view
from soleflip.orders.service import OrdersService

Service = NamedDependency[OrdersService]


class NewListing(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """List a stock unit: the price is in whole currency units, as StockX takes it."""

    stock_item_id: RowId
    amount: PositiveMoney
    active: bool = True


class ListingChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A new price and/or on/off switch."""

    amount: PositiveMoney | None = None
    active: bool | None = None


def _whole(amount: PositiveMoney) -> Decimal:
    if amount.amount <= 0 or amount.amount != amount.amount.to_integral_value():
        raise InvalidInput(
            "amount must be a positive whole number of currency units",
            errors=[{"field": "amount.amount", "message": 'whole units only, e.g. "150"'}],
        )
    return amount.amount


def _accepted(result: WriteAccepted) -> Response[dict[str, str | None]]:
    body = {
        "listing_id": result.listing_id,
        "operation_id": result.operation_id,
        "status": result.status,
    }
    return Response(body, status_code=202)


class ListingController(Controller):
    """Listings mirrored from StockX, and writes that StockX carries out asynchronously."""

    path = "/api/v1/listings"
    tags = ["listings"]

    @get("/", guards=[requires("read")])
    async def list_listings(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        status: FromQuery[str | None] = None,
        limit: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        format_: Format = None,
    ) -> Page | Stream:
        if wants_csv(request, format_):
            return await listings_csv(service, statuses=statuses_of(status))
        size = limit_of(limit)
        async with service.pool.acquire() as conn:
            rows = await queries.list_listings(
                conn, statuses=statuses_of(status), after=decode_cursor(cursor, str), limit=size
            )
        token = encode_cursor(rows[-1]["listing_id"]) if len(rows) == size else None
        return Page([listing_view(r) for r in rows], token)

    @get("/{listing_id:str}", guards=[requires("read")])
    async def get_listing(self, service: Service, listing_id: FromPath[str]) -> ListingView:
        async with service.pool.acquire() as conn:
            row = await queries.get_listing(conn, listing_id)
        if row is None:
            raise NotFound(f"listing {listing_id} is not known")
        return listing_view(row)

    @post("/", guards=[requires("write")], status_code=202)
    async def create_listing(
        self, service: Service, request: Request[Any, Any, Any], data: JSONBody[NewListing]
    ) -> Response[dict[str, str | None]]:
        """Create a StockX listing for a stock unit (its real variant is resolved first)."""
        command = CreateListing(
            data.stock_item_id, _whole(data.amount), data.amount.currency, data.active
        )
        async with UnitOfWork(service.pool) as uow:
            await repo.stock_context(uow.conn, "api", actor=actor_of(request))
            result = await create_listing(command, uow=uow, stockx=service.stockx)
            await uow.commit()
        return _accepted(result)

    @patch("/{listing_id:str}", guards=[requires("write")], status_code=202)
    async def update_listing(
        self, service: Service, listing_id: FromPath[str], data: JSONBody[ListingChange]
    ) -> Response[dict[str, str | None]]:
        """Change the price, or activate/deactivate."""
        if data.amount is None and data.active is None:
            raise InvalidInput("give amount, active or both")
        amount = _whole(data.amount) if data.amount else None
        currency = data.amount.currency if data.amount else None
        command = ChangeListing(listing_id, amount, currency, data.active)
        async with UnitOfWork(service.pool) as uow:
            result = await change_listing(command, uow=uow, stockx=service.stockx)
            await uow.commit()
        return _accepted(result)

    @delete("/{listing_id:str}", guards=[requires("write")], status_code=202)
    async def delete_listing(
        self, service: Service, listing_id: FromPath[str]
    ) -> Response[dict[str, str | None]]:
        """Delete; an already sold, expired or deleted listing answers 202 with no operation."""
        async with UnitOfWork(service.pool) as uow:
            result = await delete_listing(DeleteListing(listing_id), uow=uow, stockx=service.stockx)
            await uow.commit()
        return _accepted(result)
