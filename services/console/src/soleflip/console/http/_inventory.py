"""*Inventory*: the stock list with filters, recording a purchase, one unit with its history and
cost parts, and listing a unit for sale with its floor and a quote shown before confirming."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, get, post
from litestar.enums import MediaType
from litestar.response import Redirect, Stream, Template

from soleflip.console.backends import Outcome, ServiceError, attempt
from soleflip.console.http._common import (
    SECURITY_HEADERS,
    AnyRequest,
    InputProblem,
    Service,
    flash_path,
    money_field,
    page,
    page_context,
    render,
    see_other,
    session_of,
    writer,
)

STATES = ("ORDERED", "IN_STOCK", "LISTED", "SOLD", "SHIPPED", "RETURNED", "WRITTEN_OFF", "KEPT")
FILTERS = ("status", "sku", "supplier", "cursor")
#: Where the import page's progress lines go (`import.html`, while streaming).
PROGRESS = "<!-- import progress -->"
STOPPED = (
    "the import stopped before its end: chunks already recorded stay, and importing the same "
    "file again skips them"
)
SIZE_TYPES = ("us m", "us w", "uk", "eu", "cm", "us y", "one size")


def purchase_body(form: dict[str, str]) -> dict[str, Any]:
    """The `POST /api/v1/stock` body of the purchase form (orders checks every bound)."""
    currency = (form.get("currency") or "EUR").strip().upper()
    for name in ("sku", "size", "supplier"):
        if not form.get(name, "").strip():
            raise InputProblem(f"{name} is required")
    try:
        quantity = int(form.get("quantity") or "1")
    except ValueError:
        raise InputProblem("quantity must be a whole number from 1 to 1000") from None
    purchased = form.get("purchased_at", "").strip()
    body: dict[str, Any] = {
        "sku": form["sku"].strip(),
        "size": form["size"].strip(),
        "size_type": (form.get("size_type") or "us m").strip(),
        "quantity": quantity,
        "unit_cost": money_field(form, "unit_cost", currency, required=True),
        "supplier": form["supplier"].strip(),
        "purchased_at": f"{purchased}T12:00:00Z" if purchased else _now_text(),
        # One form post is one purchase: a double submit of the same form is recorded once.
        "external_id": form.get("external_id") or f"console-{secrets.token_hex(8)}",
        "received": form.get("received", "on") == "on",
    }
    for name in ("inbound_shipping", "other_costs"):
        value = money_field(form, name, currency)
        if value is not None:
            body[name] = value
    if form.get("vat_rate_pct", "").strip():
        body["vat_rate_pct"] = form["vat_rate_pct"].strip()
    return body


def _now_text() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class InventoryController(Controller):
    path = "/inventory"
    include_in_schema = False

    @get("/")
    async def list_units(self, request: AnyRequest, service: Service) -> Template:
        session = session_of(request, service)
        query = {k: request.query_params.get(k, "").strip() for k in FILTERS}
        params = {**query, "limit": service.options.page_size}
        units = await attempt(service.backends.get("orders", "/api/v1/stock", **params))
        return page(
            request,
            "inventory.html",
            session,
            active="inventory",
            units=units,
            query=query,
            states=STATES,
            size_types=SIZE_TYPES,
            external_id=f"console-{secrets.token_hex(8)}",
            ok=request.query_params.get("ok"),
            problem=request.query_params.get("problem"),
        )

    @post("/", status_code=303)
    async def record_purchase(self, request: AnyRequest, service: Service) -> Redirect:
        _, form = await writer(request, service)
        try:
            units = await service.backends.post("orders", "/api/v1/stock", purchase_body(form))
        except (InputProblem, ServiceError) as exc:
            message = exc.readable if isinstance(exc, ServiceError) else str(exc)
            return see_other(flash_path("/inventory", message, "problem"))
        ids = ", ".join(f"#{u['id']}" for u in units or [])
        return see_other(flash_path("/inventory", f"Recorded {len(units or [])} unit(s): {ids}"))

    @post("/adopt", status_code=303)
    async def adopt(self, request: AnyRequest, service: Service) -> Redirect:
        """A unit for every active StockX listing that has none (cost to fill in later)."""
        await writer(request, service)
        try:
            answer = await service.backends.post("orders", "/api/v1/stock/adopt", {})
        except ServiceError as exc:
            return see_other(flash_path("/inventory", exc.readable, "problem"))
        more = " (more are left: adopt again)" if answer.get("more") else ""
        message = f"Adopted {answer.get('adopted', 0)} listing(s) as units{more}"
        return see_other(flash_path("/inventory?status=LISTED", message))

    @post("/import", request_max_body_size=4 * 1024 * 1024)
    async def import_csv(self, request: AnyRequest, service: Service) -> Template | Stream:
        """Record purchases from a CSV file (README "Stock import"): a dry run first shows what
        would be recorded and every refused row; the same file is then imported for real. The
        page streams: orders' progress shows as each chunk is recorded, then the result."""
        session, form = await writer(request, service)
        upload = (await request.form()).get("file")
        dry_run = form.get("dry_run") == "on"
        if upload is None or isinstance(upload, str):
            error: Outcome[dict[str, Any]] = Outcome(error="choose a CSV file to import")
            return page(request, "import.html", session, active="inventory", result=error)
        lines = _import(service, await upload.read(), dry_run)
        try:
            first = await anext(lines, None)  # orders refused the file or is down: a page
        except ServiceError as exc:
            first, stopped = None, exc.readable
        else:
            stopped = STOPPED
        if first is None:
            failed: Outcome[dict[str, Any]] = Outcome(error=stopped)
            return page(request, "import.html", session, active="inventory", result=failed)
        context = page_context(request, session, active="inventory", dry_run=dry_run)
        return Stream(
            _import_page(request, context, first, lines),
            media_type=MediaType.HTML,
            headers=SECURITY_HEADERS,
        )

    @get("/{unit_id:int}")
    async def unit(self, request: AnyRequest, service: Service, unit_id: int) -> Template:
        session = session_of(request, service)
        found = await attempt(service.backends.get("orders", f"/api/v1/stock/{unit_id}"))
        return page(
            request,
            "unit.html",
            session,
            active="inventory",
            unit=found,
            states=STATES,
            quote=Outcome[dict[str, Any]](),
            ok=request.query_params.get("ok"),
            problem=request.query_params.get("problem"),
        )

    @post("/{unit_id:int}/quote")
    async def quote(self, request: AnyRequest, service: Service, unit_id: int) -> Template:
        """Step one of listing: the floor and the recommended prices, before anything is sent
        to StockX."""
        session, form = await writer(request, service)
        found = await attempt(service.backends.get("orders", f"/api/v1/stock/{unit_id}"))
        quote: Outcome[dict[str, Any]] = Outcome(error="the unit could not be read")
        market: Outcome[dict[str, Any]] = Outcome()
        if found.value is not None:
            quote, market = await _quote_of(service, found.value)
        return page(
            request,
            "unit.html",
            session,
            active="inventory",
            unit=found,
            states=STATES,
            quote=quote,
            market=market,
            asked=form.get("amount", ""),
        )

    @post("/{unit_id:int}/list", status_code=303)
    async def list_unit(self, request: AnyRequest, service: Service, unit_id: int) -> Redirect:
        """Step two: the confirmed price goes to StockX (orders writes the listing)."""
        _, form = await writer(request, service)
        back = f"/inventory/{unit_id}"
        try:
            amount = money_field(form, "amount", form.get("currency") or "EUR", required=True)
            body = {"stock_item_id": unit_id, "amount": amount}
            answer = await service.backends.post("orders", "/api/v1/listings", body)
        except (InputProblem, ServiceError) as exc:
            message = exc.readable if isinstance(exc, ServiceError) else str(exc)
            return see_other(flash_path(back, message, "problem"))
        listing = (answer or {}).get("listing_id", "")
        return see_other(flash_path(back, f"Listed on StockX: listing {listing}"))

    @post("/{unit_id:int}/edit", status_code=303)
    async def edit_unit(self, request: AnyRequest, service: Service, unit_id: int) -> Redirect:
        """Cost parts, notes, location, condition and state (PATCH /api/v1/stock/{id})."""
        _, form = await writer(request, service)
        back = f"/inventory/{unit_id}"
        try:
            body = _change_of(form)
            await service.backends.patch("orders", f"/api/v1/stock/{unit_id}", body)
        except (InputProblem, ServiceError) as exc:
            message = exc.readable if isinstance(exc, ServiceError) else str(exc)
            return see_other(flash_path(back, message, "problem"))
        return see_other(flash_path(back, "Saved"))


def _import(service: Any, content: bytes, dry_run: bool) -> AsyncIterator[dict[str, Any]]:
    """Orders' streamed import: `{"done", "of"}` per chunk, then `{"report"}` (or `{"error"}`)."""
    lines: AsyncIterator[dict[str, Any]] = service.backends.stream_lines(
        "orders",
        "/api/v1/stock/import",
        params={"dry_run": "true" if dry_run else "false"},
        content=content,
        headers={"Content-Type": "text/csv"},
    )
    return lines


async def _import_page(
    request: AnyRequest,
    context: dict[str, Any],
    first: dict[str, Any],
    lines: AsyncIterator[dict[str, Any]],
) -> AsyncIterator[str]:
    """The import page in parts: everything up to the progress list, a progress line per
    chunk orders recorded (the stylesheet shows the newest), then the result and the rest."""
    empty: Outcome[dict[str, Any]] = Outcome()
    head, _ = render(request, "import.html", {**context, "streaming": True, "result": empty}).split(
        PROGRESS
    )
    yield head
    result: Outcome[dict[str, Any]] = Outcome(error=STOPPED)
    line: dict[str, Any] | None = first
    while line is not None:
        if "report" in line:
            result = Outcome(value=line["report"], error=line.get("error"))
            break
        yield _progress_line(int(line.get("done", 0)), int(line.get("of", 0)))
        try:
            line = await anext(lines, None)
        except ServiceError as exc:
            result = Outcome(error=f"{exc.readable}. {STOPPED}")
            break
    full = render(request, "import.html", {**context, "streaming": True, "result": result})
    yield full.split(PROGRESS)[1]


def _progress_line(done: int, total: int) -> str:
    return (
        f'<p data-import="progress"><progress max="{total}" value="{done}"></progress> '
        f"{done:,} of {total:,} purchase(s) done</p>\n"
    )


def _change_of(form: dict[str, str]) -> dict[str, Any]:
    currency = (form.get("currency") or "EUR").strip().upper()
    body: dict[str, Any] = {}
    for name in ("unit_cost", "inbound_shipping", "other_costs"):
        value = money_field(form, name, currency)
        if value is not None:
            body[name] = value
    for name in ("notes", "location", "condition", "supplier"):
        if name in form:
            body[name] = form[name].strip()
    if form.get("status", "").strip():
        body["status"] = form["status"].strip()
    if form.get("vat_rate_pct", "").strip():
        body["vat_rate_pct"] = form["vat_rate_pct"].strip()
    if body.get("supplier") == "":
        del body["supplier"]
    return body


async def _quote_of(
    service: Any, unit: dict[str, Any]
) -> tuple[Outcome[dict[str, Any]], Outcome[dict[str, Any]]]:
    variant = unit.get("variant_id")
    if not variant:
        return Outcome(
            error="this unit has no StockX variant yet (its SKU and size are not resolved)"
        ), Outcome()
    cost = unit.get("landed_cost") or unit.get("unit_cost")
    body = {"variant_id": variant, "cost": cost, "min_margin_pct": "0"}
    quote, market = await asyncio.gather(
        attempt(service.backends.post("pricing", "/api/v1/quote", body)),
        attempt(service.backends.get("pricing", f"/api/v1/market/{variant}")),
    )
    return quote, market
