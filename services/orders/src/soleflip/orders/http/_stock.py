"""Controller for stock units: list with filters, one unit with its history, record, correct."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Controller, Request, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream

from soleflip.common.contracts.bounds import Money
from soleflip.common.contracts.ingest import ItemPurchase
from soleflip.common.db import DB_ERRORS, UnitOfWork
from soleflip.common.errors import InvalidInput, NotFound, SoleflipError, UnsupportedMediaType
from soleflip.common.http import ndjson_stream, requires, wants_csv, wants_ndjson
from soleflip.orders import queries
from soleflip.orders import repository as repo
from soleflip.orders.domain import MAX_COST, STOCK_STATES
from soleflip.orders.handlers import (
    ChangeStock,
    ImportReport,
    adopt_listings,
    change_stock,
    import_chunks,
    import_purchases,
    plan_import,
    record_purchases,
    set_link_strategy,
    set_vat_reclaimable,
)
from soleflip.orders.http._export import Format, stock_csv
from soleflip.orders.http._params import (
    actor_of,
    bad,
    bool_of,
    days_of,
    decode_cursor,
    encode_cursor,
    limit_of,
    statuses_of,
    time_of,
)
from soleflip.orders.http._views import Page, StockView, stock_view
from soleflip.orders.service import OrdersService

Service = NamedDependency[OrdersService]
#: Text Postgres can store (no NUL), bounded; "" clears an optional field.
Text = Annotated[str, msgspec.Meta(max_length=200, pattern=r"^[^\x00]*$")]
Notes = Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^[^\x00]*$")]
#: Ids are bigserial: a larger number names no unit (and must not reach Postgres).
MAX_ID = 2**63 - 1
Condition = Literal["new", "new_defects", "used", "damaged"]


class StockChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A correction of one unit; absent (null) fields stay as they are, "" clears a text."""

    status: str | None = None
    unit_cost: Money | None = None
    vat_amount: Money | None = None
    vat_rate_pct: Decimal | None = None
    inbound_shipping: Money | None = None
    other_costs: Money | None = None
    supplier: Annotated[Text, msgspec.Meta(min_length=1)] | None = None
    #: The supplier entity (`/api/v1/suppliers`); the unit's `supplier` text follows it.
    supplier_id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)] | None = None
    location: Text | None = None
    condition: Condition | None = None
    notes: Notes | None = None
    #: Pick the StockX variant by hand (an ambiguous unit); "" forgets it.
    variant_id: Annotated[str, msgspec.Meta(max_length=100, pattern=r"^[^\x00]*$")] | None = None


def cost_of(field: str, value: Money) -> Decimal:
    """A cost part: whole cents from 0 to `MAX_COST` (422 otherwise)."""
    amount = value.amount
    if not amount.is_finite() or not 0 <= amount <= MAX_COST or amount != round(amount, 2):
        raise InvalidInput(
            f"{field} must be from 0 to {MAX_COST} with at most two decimals",
            errors=[{"field": f"{field}.amount", "message": f"0 to {MAX_COST}, cents"}],
        )
    return amount


def bad_body(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"invalid {field}: {message}", errors=[{"field": field, "message": message}]
    )


def status_of(raw: str) -> str:
    status = raw.strip().upper()
    if status not in STOCK_STATES:
        raise InvalidInput(
            f"unknown status {raw!r}",
            errors=[{"field": "status", "message": f"one of {', '.join(STOCK_STATES)}"}],
        )
    return status


def change_of(stock_item_id: int, data: StockChange) -> ChangeStock:
    values: dict[str, object] = {}
    parts = (
        ("unit_cost", "unit_cost", data.unit_cost),
        ("vat_amount", "vat_amount", data.vat_amount),
        ("inbound_shipping", "inbound_cost", data.inbound_shipping),
        ("other_costs", "other_cost", data.other_costs),
    )
    for field, column, part in parts:
        if part is not None:
            values[column] = cost_of(field, part)
            if values.setdefault("currency", part.currency) != part.currency:
                raise InvalidInput("all cost parts must be in one currency")
    if data.vat_rate_pct is not None:
        rate = data.vat_rate_pct
        if not rate.is_finite() or not 0 <= rate <= 100 or rate != round(rate, 2):
            raise bad_body("vat_rate_pct", "a percentage from 0 to 100, two decimals at most")
        values["vat_rate_pct"] = rate
    if data.supplier is not None and data.supplier_id is not None:
        raise bad_body("supplier_id", "give supplier or supplier_id, not both")
    if data.supplier is not None and not data.supplier.strip():
        raise bad_body("supplier", "must not be blank")
    for name in ("supplier", "supplier_id", "condition"):
        if getattr(data, name) is not None:
            values[name] = getattr(data, name)
    for name in ("location", "notes", "variant_id"):
        if getattr(data, name) is not None:
            values[name] = getattr(data, name) or None
    status = status_of(data.status) if data.status is not None else None
    if not values and status is None:
        raise InvalidInput("nothing to change: give at least one field")
    return ChangeStock(stock_item_id, values, status)


def _filter(
    status: str | None,
    sku: str | None,
    supplier: str | None,
    since: datetime | None,
    until: datetime | None,
    min_age: int | None,
    max_age: int | None,
    supplier_id: str | None = None,
    *,
    now: datetime,
) -> queries.StockFilter:
    """Age bounds become purchase-time bounds (a unit `min_age_days` old was bought before)."""
    if min_age is not None:
        until = min(filter(None, [until, now - timedelta(days=min_age)]))
    if max_age is not None:
        since = max(filter(None, [since, now - timedelta(days=max_age)]))
    for field, value in (("sku", sku), ("supplier", supplier)):
        if value is not None and (not value or len(value) > 200 or "\x00" in value):
            raise bad(field, "must be 1 to 200 characters")
    if supplier_id is not None and not (supplier_id.isdigit() and 1 <= int(supplier_id) <= MAX_ID):
        raise bad("supplier_id", "must be a supplier id (a whole number from 1)")
    wanted = int(supplier_id) if supplier_id is not None else None
    return queries.StockFilter(statuses_of(status), sku, supplier, since, until, wanted)


async def _unit(service: OrdersService, stock_item_id: int) -> StockView:
    if not 1 <= stock_item_id <= MAX_ID:
        raise NotFound(f"stock item {stock_item_id} does not exist")
    async with service.pool.acquire() as conn:
        rows = await queries.stock_by_ids(conn, [stock_item_id])
        if not rows:
            raise NotFound(f"stock item {stock_item_id} does not exist")
        history = await queries.stock_history(conn, stock_item_id)
    return stock_view(rows[0], history)


class StockSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The seller's stock settings."""

    #: A VAT-registered seller reclaims the VAT of purchases: it is not part of the cost.
    vat_reclaimable: bool = False
    #: Which free unit a sale of a variant takes: the oldest purchase, the newest, or none
    #: by itself (`specific`: only its listing's unit or one linked by hand).
    link_strategy: Literal["fifo", "lifo", "specific"] = "fifo"


def _settings(row: asyncpg.Record) -> StockSettings:
    return StockSettings(vat_reclaimable=row["vat_reclaimable"], link_strategy=row["link_strategy"])


class StockSettingsController(Controller):
    """`GET|PUT /api/v1/stock/settings`: how landed cost is computed."""

    path = "/api/v1/stock/settings"
    tags = ["stock"]

    @get("/", guards=[requires("read")])
    async def get_settings(self, service: Service) -> StockSettings:
        async with service.pool.acquire() as conn:
            return _settings(await queries.stock_settings(conn))

    @put("/", guards=[requires("write")])
    async def put_settings(
        self, service: Service, request: Request[Any, Any, Any], data: JSONBody[StockSettings]
    ) -> StockSettings:
        """A change recomputes the landed cost of every unit with VAT, and its sale's profit."""
        async with UnitOfWork(service.pool) as uow:
            await set_link_strategy(data.link_strategy, conn=uow.conn)
            await set_vat_reclaimable(data.vat_reclaimable, uow=uow, actor=actor_of(request))
            await uow.commit()
        async with service.pool.acquire() as conn:
            return _settings(await queries.stock_settings(conn))


class StockController(Controller):
    """What the seller owns: one row per unit, from purchases (n8n or this endpoint)."""

    path = "/api/v1/stock"
    tags = ["stock"]

    @get("/", guards=[requires("read")])
    async def list_stock(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        status: FromQuery[str | None] = None,
        sku: FromQuery[str | None] = None,
        supplier: FromQuery[str | None] = None,
        supplier_id: FromQuery[str | None] = None,
        purchased_since: FromQuery[str | None] = None,
        purchased_until: FromQuery[str | None] = None,
        min_age_days: FromQuery[str | None] = None,
        max_age_days: FromQuery[str | None] = None,
        limit: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        format_: Format = None,
    ) -> Page | Stream:
        """Units by id; filters combine (status list, sku, supplier (text) or supplier_id,
        purchase time, age)."""
        where = _filter(
            status,
            sku,
            supplier,
            time_of("purchased_since", purchased_since),
            time_of("purchased_until", purchased_until),
            days_of("min_age_days", min_age_days),
            days_of("max_age_days", max_age_days),
            supplier_id,
            now=service.now(),
        )
        if wants_csv(request, format_):
            return await stock_csv(service, where)
        size = limit_of(limit)
        async with service.pool.acquire() as conn:
            rows = await queries.list_stock(
                conn, where, after=decode_cursor(cursor, int), limit=size
            )
        token = encode_cursor(rows[-1]["id"]) if len(rows) == size else None
        return Page([stock_view(r) for r in rows], token)

    @get("/{stock_item_id:int}", guards=[requires("read")])
    async def get_stock(self, service: Service, stock_item_id: FromPath[int]) -> StockView:
        """One unit with its whole history (every change, who or what made it)."""
        return await _unit(service, stock_item_id)

    @post("/", guards=[requires("write")], status_code=201)
    async def create_stock(
        self, service: Service, request: Request[Any, Any, Any], data: JSONBody[ItemPurchase]
    ) -> list[StockView]:
        """Record a purchase (idempotent on `external_id`); returns the units it created."""
        cost_of("unit_cost", data.unit_cost)
        async with UnitOfWork(service.pool) as uow:
            await repo.stock_context(uow.conn, actor=actor_of(request))
            ids = await record_purchases([data], conn=uow.conn, source="api")
            rows = await queries.stock_by_ids(uow.conn, ids)
            await uow.commit()
        return [stock_view(r) for r in rows]

    @post("/adopt", guards=[requires("write")], status_code=200)
    async def adopt_listings(
        self, service: Service, request: Request[Any, Any, Any]
    ) -> dict[str, int | bool]:
        """A unit (LISTED, cost unknown) for each active listing that has none; repeatable."""
        async with UnitOfWork(service.pool) as uow:
            adopted, more = await adopt_listings(
                conn=uow.conn, source="api", now=service.now(), actor=actor_of(request)
            )
            await uow.commit()
        return {"adopted": adopted, "more": more}

    @post("/import", guards=[requires("write")], status_code=200)
    async def import_stock(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        dry_run: FromQuery[str | None] = None,
    ) -> ImportReport | Stream:
        """Purchases from a CSV body (`text/csv`, columns in the README); `dry_run=true` records
        nothing. Refused rows come back with their line and reason. With `Accept:
        application/x-ndjson` the answer streams the progress, a line per chunk recorded
        (`{"done", "of"}`), then `{"report": ...}` (or `{"error", "report"}` if it stopped)."""
        if request.content_type[0] != "text/csv":
            raise UnsupportedMediaType("send the purchases as text/csv")
        try:
            text = (await request.body()).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("the CSV must be UTF-8") from None
        dry = bool_of("dry_run", dry_run) or False
        if not wants_ndjson(request):
            return await import_purchases(
                text, pool=service.pool, dry_run=dry, actor=actor_of(request)
            )
        purchases, report = plan_import(text, dry_run=dry)
        return await ndjson_stream(
            _import_progress(purchases, report, pool=service.pool, actor=actor_of(request))
        )

    @patch("/{stock_item_id:int}", guards=[requires("write")])
    async def update_stock(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        stock_item_id: FromPath[int],
        data: JSONBody[StockChange],
    ) -> StockView:
        """Correct a unit; a status move the lifecycle does not allow answers 409."""
        if not 1 <= stock_item_id <= MAX_ID:
            raise NotFound(f"stock item {stock_item_id} does not exist")
        command = change_of(stock_item_id, data)
        async with UnitOfWork(service.pool) as uow:
            await change_stock(command, uow=uow, source="api", actor=actor_of(request))
            await uow.commit()
        return await _unit(service, stock_item_id)


#: What may stop a streamed import after its first chunk: an expected error or Postgres failing.
STOPPERS: tuple[type[Exception], ...] = (SoleflipError, *DB_ERRORS)


async def _import_progress(
    purchases: list[ItemPurchase], report: ImportReport, *, pool: asyncpg.Pool, actor: str | None
) -> AsyncIterator[dict[str, Any]]:
    """The lines of a streamed import: progress per chunk, then the report. A failure after the
    first chunk cannot be a problem+json any more (the answer has begun): its line says what
    stopped and the chunks before it stay recorded (an import is idempotent: send it again)."""
    total = len(purchases)
    chunks = import_chunks(purchases, report, pool=pool, actor=actor)
    # The first chunk is recorded before the answer starts (`ndjson_stream`): an outage there
    # is still a 503 problem+json.
    yield {"done": await anext(chunks, 0), "of": total}
    try:
        async for done in chunks:
            yield {"done": done, "of": total}
    except STOPPERS as exc:
        detail = exc.detail if isinstance(exc, SoleflipError) else "the database failed"
        yield {"error": f"the import stopped: {detail}", "report": report}
        return
    yield {"report": report}
