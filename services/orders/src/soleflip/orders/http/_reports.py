"""KPI reports of orders (`/api/v1/reports/*`): what stock is worth and how old it is, what
sales earned by period or group, and what must ship by when. Rows carry a `currency` column and
plain decimal amounts (no FX: each currency is its own row).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from soleflip.common.errors import InvalidInput
from soleflip.common.http import requires
from soleflip.orders.http._params import bad, decode_cursor, encode_cursor, limit_of, time_of
from soleflip.orders.queries import reports
from soleflip.orders.service import OrdersService

Service = NamedDependency[OrdersService]
From = Annotated[str | None, QueryParameter(name="from")]
RATIO = Decimal("0.0001")


def currency_of(raw: str | None) -> str | None:
    """An ISO 4217 code (three letters), upper-cased."""
    if raw is None:
        return None
    if len(raw) != 3 or not raw.isascii() or not raw.isalpha():
        raise bad("currency", "must be a three-letter ISO 4217 code, e.g. EUR")
    return raw.upper()


def window_of(from_: str | None, to: str | None) -> tuple[datetime, datetime]:
    """`from`/`to` (default: the last 30 days up to now); `from` must be before `to`."""
    end = time_of("to", to) or datetime.now(UTC)
    start = time_of("from", from_) or end - timedelta(days=30)
    if start >= end:
        raise InvalidInput("from must be before to")
    return start, end


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATIO, rounding=ROUND_HALF_UP)


def _sales_row(row: Any) -> dict[str, Any]:
    values = dict(row)
    del values["sold_linked"]
    values["profit"] = values["sales_profit"] - values["cancellation_charges"]
    values["roi"] = ratio(values["sales_profit"], values["landed_cost"])
    return values


class ReportController(Controller):
    """KPIs for dashboards: inventory, sales and operations (read scope)."""

    path = "/api/v1/reports"
    tags = ["reports"]

    @get("/inventory", guards=[requires("read")])
    async def get_inventory(
        self,
        service: Service,
        from_: From = None,
        to: FromQuery[str | None] = None,
        currency: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Units and landed-cost value by status; held units (IN_STOCK, LISTED) by age; held
        units of a known variant at market (the latest lowest ask and highest bid in the
        unit's currency) with the unrealised profit over those whose cost is known.
        `from`/`to` narrow to units purchased in that window (default: all)."""
        start, end = time_of("from", from_), time_of("to", to)
        code = currency_of(currency)
        now = datetime.now(UTC)
        async with service.pool.acquire() as conn:
            by_status = await reports.inventory_by_status(
                conn, start=start, end=end, currency=code, now=now
            )
            aging = await reports.inventory_aging(
                conn, start=start, end=end, currency=code, now=now
            )
            market = await reports.inventory_market(conn, start=start, end=end, currency=code)
        labels = [label for _, label in reports.AGE_BUCKETS]
        return {
            "as_of": now,
            "from": start,
            "to": end,
            "currency": code,
            "by_status": [dict(r) for r in by_status],
            "aging": [{**dict(r), "bucket": labels[r["bucket"]]} for r in aging],
            "market": [dict(r) for r in market],
        }

    @get("/sales", guards=[requires("read")])
    async def get_sales(
        self,
        service: Service,
        from_: From = None,
        to: FromQuery[str | None] = None,
        currency: FromQuery[str | None] = None,
        group_by: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Sales KPIs per `group_by` (day, week, month, product, brand, size, supplier) and
        currency, from the summary that the write path keeps (migration 0014)."""
        start, end = window_of(from_, to)
        group = group_by or "day"
        if group not in reports.SALES_KEYS:
            raise bad("group_by", f"must be one of {', '.join(reports.SALES_KEYS)}")
        code = currency_of(currency)
        async with service.pool.acquire() as conn:
            rows = await reports.sales_report(
                conn, group_by=group, start=start, end=end, currency=code
            )
            held = await reports.held_units(conn, currency=code)
        sold = sum(r["sold_linked"] for r in rows)
        return {
            "from": start,
            "to": end,
            "currency": code,
            "group_by": group,
            "rows": [_sales_row(r) for r in rows],
            "sell_through": {"sold": sold, "held": held, "rate": ratio(sold, sold + held)},
        }

    @get("/need-to-ship", guards=[requires("read")])
    async def get_need_to_ship(
        self,
        service: Service,
        limit: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Orders waiting for the seller's shipment, soonest ship-by first; `overdue` when the
        ship-by date has passed."""
        size = limit_of(limit)
        after = decode_cursor(cursor, tuple[str, str])
        if after is not None and after[0] != "infinity":
            time_of("cursor", after[0])  # only a time this API wrote may reach Postgres
        now = datetime.now(UTC)
        async with service.pool.acquire() as conn:
            rows = await reports.orders_to_ship(conn, after=after, limit=size)
        items = [
            {**dict(r), "overdue": r["ship_by"] is not None and r["ship_by"] < now} for r in rows
        ]
        token = None
        if len(rows) == size:
            last = rows[-1]
            at = last["ship_by"].isoformat() if last["ship_by"] else "infinity"
            token = encode_cursor([at, last["order_number"]])
        return {"as_of": now, "items": items, "next_cursor": token}
