"""Suppliers over REST: CRUD at `/api/v1/suppliers`, and what each one's units did at
`/api/v1/reports/suppliers` (units bought, spend, units sold, profit, ROI, days to sell)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream

from soleflip.common.db import UnitOfWork
from soleflip.common.errors import InvalidInput, NotFound
from soleflip.common.http import requires, wants_csv
from soleflip.orders import queries
from soleflip.orders.handlers import (
    ChangeSupplier,
    CreateSupplier,
    change_supplier,
    create_supplier,
    delete_supplier,
)
from soleflip.orders.http._export import Format, keyset_csv, table_csv
from soleflip.orders.http._params import (
    actor_of,
    bad,
    decode_cursor,
    encode_cursor,
    limit_of,
    time_of,
)
from soleflip.orders.http._reports import From, currency_of, ratio
from soleflip.orders.http._views import Page
from soleflip.orders.service import OrdersService

Service = NamedDependency[OrdersService]
MAX_ID = 2**63 - 1
Kind = Literal["retail", "private", "auction"]
KINDS = ("retail", "private", "auction")
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00]*\S[^\x00]*$")]
Notes = Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^[^\x00]*$")]


class NewSupplier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A supplier: `kind` retail (a shop, a raffle), private (a person) or auction."""

    name: Name
    kind: Kind | None = None
    notes: Notes | None = None


class SupplierChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A correction; absent fields stay, "" clears `kind` or `notes`."""

    name: Name | None = None
    kind: Kind | Literal[""] | None = None
    notes: Notes | None = None


class SupplierView(msgspec.Struct, frozen=True):
    id: int
    name: str
    kind: str | None
    notes: str | None
    #: How many stock units name this supplier.
    units: int
    created_at: datetime
    updated_at: datetime


def supplier_view(row: asyncpg.Record, units: int | None = None) -> SupplierView:
    count = row["units"] if units is None else units
    return SupplierView(
        row["id"],
        row["name"],
        row["kind"],
        row["notes"],
        count,
        row["created_at"],
        row["updated_at"],
    )


#: (CSV header, stats column) in output order; money plain decimals in `currency`.
STATS_COLUMNS = (
    "supplier_id",
    "name",
    "kind",
    "currency",
    "units_bought",
    "spend",
    "cost_missing",
    "units_sold",
    "revenue",
    "profit",
    "sold_landed_cost",
    "roi",
    "avg_days_to_sell",
    "without_profit",
)
SUPPLIER_COLUMNS = ("id", "name", "kind", "notes", "units", "created_at", "updated_at")


def stats_row(row: asyncpg.Record) -> dict[str, Any]:
    """One supplier and currency: ROI = profit ÷ landed cost of the sales that have a profit."""
    values = dict(row)
    values["sold_landed_cost"] = values.pop("sold_cost")
    values["roi"] = ratio(values["profit"], values["sold_landed_cost"])
    return {name: values[name] for name in STATS_COLUMNS}


def _id_of(supplier_id: int) -> int:
    if not 1 <= supplier_id <= MAX_ID:
        raise NotFound(f"supplier {supplier_id} does not exist")
    return supplier_id


async def _one(service: OrdersService, supplier_id: int) -> SupplierView:
    async with service.pool.acquire() as conn:
        row = await queries.suppliers.get_supplier(conn, _id_of(supplier_id))
    if row is None:
        raise NotFound(f"supplier {supplier_id} does not exist")
    return supplier_view(row)


def _kind_of(raw: str | None) -> str | None:
    if raw is not None and raw not in KINDS:
        raise bad("kind", f"must be one of {', '.join(KINDS)}")
    return raw


class SupplierController(Controller):
    """Where the seller buys: suppliers referenced by stock units."""

    path = "/api/v1/suppliers"
    tags = ["suppliers"]

    @get("/", guards=[requires("read")])
    async def list_suppliers(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        kind: FromQuery[str | None] = None,
        limit: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        format_: Format = None,
    ) -> Page | Stream:
        """Suppliers by id (`kind` narrows), each with its number of units."""
        wanted = _kind_of(kind)
        if wants_csv(request, format_):
            return await keyset_csv(
                service.pool,
                queries.suppliers.list_suppliers,
                lambda r: r["id"],
                SUPPLIER_COLUMNS,
                "suppliers.csv",
                kind=wanted,
            )
        size = limit_of(limit)
        after = decode_cursor(cursor, int)
        if after is not None and not 0 <= after <= MAX_ID:
            raise bad("cursor", "is not a cursor this API returned")
        async with service.pool.acquire() as conn:
            rows = await queries.suppliers.list_suppliers(
                conn, kind=wanted, after=after, limit=size
            )
        token = encode_cursor(rows[-1]["id"]) if len(rows) == size else None
        return Page([supplier_view(r) for r in rows], token)

    @post("/", guards=[requires("write")], status_code=201)
    async def create_supplier(self, service: Service, data: JSONBody[NewSupplier]) -> SupplierView:
        """A new supplier; 409 when one of that name (any case) exists."""
        async with UnitOfWork(service.pool) as uow:
            row = await create_supplier(
                CreateSupplier(data.name, data.kind, data.notes), conn=uow.conn
            )
            await uow.commit()
        return supplier_view(row, units=0)

    @get("/{supplier_id:int}", guards=[requires("read")])
    async def get_supplier(self, service: Service, supplier_id: FromPath[int]) -> SupplierView:
        return await _one(service, supplier_id)

    @patch("/{supplier_id:int}", guards=[requires("write")])
    async def update_supplier(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        supplier_id: FromPath[int],
        data: JSONBody[SupplierChange],
    ) -> SupplierView:
        """Rename (its units carry the new name; 409 for a name another supplier has) or
        describe a supplier."""
        if data.name is None and data.kind is None and data.notes is None:
            raise InvalidInput("nothing to change: give name, kind or notes")
        command = ChangeSupplier(
            _id_of(supplier_id),
            name=data.name,
            kind=data.kind or None,
            notes=data.notes or None,
            clear_kind=data.kind == "",
            clear_notes=data.notes == "",
        )
        async with UnitOfWork(service.pool) as uow:
            await change_supplier(command, conn=uow.conn, source="api", actor=actor_of(request))
            await uow.commit()
        return await _one(service, supplier_id)

    @delete("/{supplier_id:int}", guards=[requires("write")], status_code=204)
    async def delete_supplier(self, service: Service, supplier_id: FromPath[int]) -> None:
        """Forget a supplier no unit names (409 while units do)."""
        async with UnitOfWork(service.pool) as uow:
            await delete_supplier(_id_of(supplier_id), conn=uow.conn)
            await uow.commit()


class SupplierReportController(Controller):
    """`GET /api/v1/reports/suppliers`: per supplier and currency, what its units did."""

    path = "/api/v1/reports/suppliers"
    tags = ["reports"]

    @get("/", guards=[requires("read")])
    async def get_supplier_stats(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        from_: From = None,
        to: FromQuery[str | None] = None,
        currency: FromQuery[str | None] = None,
        format_: Format = None,
    ) -> dict[str, Any] | Stream:
        """Units bought (purchase time in `from`/`to`) and their landed cost; units sold (sale
        time in the window), revenue, profit, ROI and average days from purchase to sale.
        Default window: all time. Rows per currency, amounts plain decimals, no FX."""
        start, end = time_of("from", from_), time_of("to", to)
        if start is not None and end is not None and start >= end:
            raise InvalidInput("from must be before to")
        code = currency_of(currency)
        csv = wants_csv(request, format_)
        async with service.pool.acquire() as conn:
            rows = await queries.suppliers.supplier_stats(conn, start=start, end=end, currency=code)
        items = [stats_row(r) for r in rows]
        if csv:
            return await table_csv(STATS_COLUMNS, items, "suppliers-report.csv")
        return {"from": start, "to": end, "currency": code, "rows": items}
