"""KPI reports of orders (`/api/v1/reports/*`): what stock is worth and how old it is, what
sales earned by period or group, and what must ship by when. Rows carry a `currency` column and
plain decimal amounts (no FX: each currency is its own row).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from soleflip.common.http import requires, wants_csv
from soleflip.orders import queries
from soleflip.orders.http._export import Format, keyset_csv, table_csv
from soleflip.orders.http._params import (
    bad,
    decode_cursor,
    encode_cursor,
    limit_of,
    time_of,
    window_of,
)
from soleflip.orders.http._views import PendingPayoutsPage, pending_view, total_view
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


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATIO, rounding=ROUND_HALF_UP)


#: `above_pct` of the overpriced-listings report: default and largest value.
DEFAULT_ABOVE_PCT = Decimal(5)
MAX_ABOVE_PCT = Decimal(1000)
#: CSV columns of each report (money plain decimals next to `currency`).
INVENTORY_CSV = (
    "section", "status", "bucket", "currency", "units", "value", "cost_missing",
    "units_at_ask", "value_at_lowest_ask", "payout_at_lowest_ask", "unrealised_profit_at_ask",
    "units_at_bid", "value_at_highest_bid", "payout_at_highest_bid", "unrealised_profit_at_bid",
)  # fmt: skip
SALES_CSV = (
    "key", "currency", "sales", "revenue", "net_proceeds", "landed_cost", "profit", "roi",
    "cancellations", "cancellation_charges", "avg_days_to_sell", "without_profit", "sold",
    "held", "sell_through",
)  # fmt: skip
TO_SHIP_CSV = (
    "order_number", "status", "ship_by", "overdue", "listing_id", "stock_item_id",
    "variant_id", "product_id", "currency", "amount", "created_at", "sku", "size", "size_type",
)  # fmt: skip
PENDING_CSV = (
    "order_number", "status", "currency", "expected_payout", "payout_source", "expected_at",
    "created_at",
)  # fmt: skip
OVERPRICED_CSV = (
    "listing_id", "status", "variant_id", "product_id", "stock_item_id", "currency", "amount",
    "lowest_ask", "above_pct", "market_observed_at",
)  # fmt: skip


def pct_of(raw: str | None) -> Decimal:
    """`above_pct`: a plain decimal from 0 to 1000 (default 5)."""
    if raw is None:
        return DEFAULT_ABOVE_PCT
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or not 0 <= value <= MAX_ABOVE_PCT or len(raw) > 12:
        raise bad("above_pct", "must be a percentage from 0 to 1000, e.g. 5 or 12.5")
    return value


def _sales_row(row: Any, held: int) -> dict[str, Any]:
    """One group's figures; sell-through = its sold units ÷ (those + its units held now)."""
    values = dict(row)
    values["sold"] = values.pop("sold_linked")
    values["profit"] = values["sales_profit"] - values["cancellation_charges"]
    values["roi"] = ratio(values["sales_profit"], values["landed_cost"])
    values["held"] = held
    values["sell_through"] = ratio(values["sold"], values["sold"] + held)
    return values


class ReportController(Controller):
    """KPIs for dashboards: inventory, sales and operations (read scope)."""

    path = "/api/v1/reports"
    tags = ["reports"]

    @get("/inventory", guards=[requires("read")])
    async def get_inventory(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        from_: From = None,
        to: FromQuery[str | None] = None,
        currency: FromQuery[str | None] = None,
        format_: Format = None,
    ) -> dict[str, Any] | Stream:
        """Units and landed-cost value by status; held units (IN_STOCK, LISTED) by age; held
        units of a known variant at market (the latest lowest ask and highest bid in the
        unit's currency) with the unrealised profit over those whose cost is known.
        `from`/`to` narrow to units purchased in that window (default: all)."""
        start, end = time_of("from", from_), time_of("to", to)
        code = currency_of(currency)
        now = service.now()
        async with service.pool.acquire() as conn:
            by_status = await reports.inventory_by_status(
                conn, start=start, end=end, currency=code, now=now
            )
            aging = await reports.inventory_aging(
                conn, start=start, end=end, currency=code, now=now
            )
            schedule = (await service.fees(conn)).at(now)
            market = await reports.inventory_market(
                conn, start=start, end=end, currency=code, fees=schedule
            )
        labels = [label for _, label in reports.AGE_BUCKETS]
        if wants_csv(request, format_):
            rows = [{"section": "by_status", **dict(r)} for r in by_status]
            rows += [{"section": "aging", **dict(r), "bucket": labels[r["bucket"]]} for r in aging]
            rows += [{"section": "market", **dict(r)} for r in market]
            return await table_csv(INVENTORY_CSV, rows, "inventory.csv")
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
        request: Request[Any, Any, Any],
        from_: From = None,
        to: FromQuery[str | None] = None,
        currency: FromQuery[str | None] = None,
        group_by: FromQuery[str | None] = None,
        format_: Format = None,
    ) -> dict[str, Any] | Stream:
        """Sales KPIs per `group_by` (day, week, month, product, brand, size, supplier) and
        currency, from the summary that the write path keeps (migration 0014)."""
        start, end = window_of(from_, to, now=service.now())
        group = group_by or "day"
        if group not in reports.SALES_KEYS:
            raise bad("group_by", f"must be one of {', '.join(reports.SALES_KEYS)}")
        code = currency_of(currency)
        async with service.pool.acquire() as conn:
            rows = await reports.sales_report(
                conn, group_by=group, start=start, end=end, currency=code
            )
            held = await reports.held_units(conn, currency=code)
            held_by = await reports.held_by_key(conn, group_by=group, currency=code)
        sold = sum(r["sold_linked"] for r in rows)
        periods = reports.SALES_KEYS[group][0] == "period"
        items = [
            _sales_row(r, held_by.get((None if periods else r["key"], r["currency"]), 0))
            for r in rows
        ]
        if wants_csv(request, format_):
            return await table_csv(SALES_CSV, items, "sales.csv")
        return {
            "from": start,
            "to": end,
            "currency": code,
            "group_by": group,
            "rows": items,
            "sell_through": {"sold": sold, "held": held, "rate": ratio(sold, sold + held)},
        }

    @get("/need-to-ship", guards=[requires("read")])
    async def get_need_to_ship(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        limit: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        format_: Format = None,
    ) -> dict[str, Any] | Stream:
        """Orders waiting for the seller's shipment, soonest ship-by first; `overdue` when the
        ship-by date has passed. CSV: every such order."""
        now = service.now()

        def item(r: Any) -> dict[str, Any]:
            return {**dict(r), "overdue": r["ship_by"] is not None and r["ship_by"] < now}

        def key(r: Any) -> tuple[str, str]:
            at = r["ship_by"].isoformat() if r["ship_by"] else "infinity"
            return at, r["order_number"]

        if wants_csv(request, format_):
            return await keyset_csv(
                service.pool,
                reports.orders_to_ship,
                key,
                TO_SHIP_CSV,
                "need-to-ship.csv",
                item=item,
            )
        size = limit_of(limit)
        after = decode_cursor(cursor, tuple[str, str])
        if after is not None and after[0] != "infinity":
            time_of("cursor", after[0])  # only a time this API wrote may reach Postgres
        async with service.pool.acquire() as conn:
            rows = await reports.orders_to_ship(conn, after=after, limit=size)
        token = encode_cursor(list(key(rows[-1]))) if len(rows) == size else None
        return {"as_of": now, "items": [item(r) for r in rows], "next_cursor": token}

    @get("/pending-payouts", guards=[requires("read")])
    async def get_pending_payouts(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        limit: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        format_: Format = None,
    ) -> PendingPayoutsPage | Stream:
        """What StockX still owes: the body of `GET /api/v1/payouts/pending` (totals per
        currency, then sales soonest expected first). CSV: every pending sale."""

        def item(r: Any) -> dict[str, Any]:
            return {
                "order_number": r["order_number"], "status": r["status"],
                "currency": r["currency"], "expected_payout": r["net_proceeds"],
                "payout_source": r["fees_source"], "expected_at": r["payout_expected_at"],
                "created_at": r["created_at"],
            }  # fmt: skip

        def key(r: Any) -> tuple[datetime, str]:
            return r["payout_expected_at"], r["order_number"]

        if wants_csv(request, format_):
            return await keyset_csv(
                service.pool,
                queries.pending_payouts,
                key,
                PENDING_CSV,
                "pending-payouts.csv",
                item=item,
            )
        size = limit_of(limit)
        after = decode_cursor(cursor, tuple[datetime, str])
        async with service.pool.acquire() as conn:
            totals = await queries.pending_totals(conn)
            rows = await queries.pending_payouts(conn, after=after, limit=size)
        token = encode_cursor(list(key(rows[-1]))) if len(rows) == size else None
        return PendingPayoutsPage(
            [total_view(t) for t in totals], [pending_view(r) for r in rows], token
        )

    @get("/overpriced-listings", guards=[requires("read")])
    async def get_overpriced_listings(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        above_pct: FromQuery[str | None] = None,
        limit: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        format_: Format = None,
    ) -> dict[str, Any] | Stream:
        """ACTIVE listings asking more than `above_pct` % (default 5) over their variant's
        latest lowest ask in the listing's currency, by listing id. CSV: every such listing."""
        pct = pct_of(above_pct)
        if wants_csv(request, format_):
            return await keyset_csv(
                service.pool,
                reports.overpriced_listings,
                lambda r: r["listing_id"],
                OVERPRICED_CSV,
                "overpriced-listings.csv",
                above_pct=pct,
            )
        size = limit_of(limit)
        after = decode_cursor(cursor, str)
        async with service.pool.acquire() as conn:
            rows = await reports.overpriced_listings(conn, above_pct=pct, after=after, limit=size)
        token = encode_cursor(rows[-1]["listing_id"]) if len(rows) == size else None
        return {"above_pct": pct, "items": [dict(r) for r in rows], "next_cursor": token}
