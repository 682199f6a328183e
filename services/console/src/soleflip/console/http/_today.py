"""*Today*: profit this week and month with a chart, inventory value, what to ship, pending
payouts, dead letters waiting and each service's health, each section on its own (a service
that fails leaves its section with a readable message, the rest renders)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from litestar import Controller, get
from litestar.response import Template

from soleflip.common.bus import DLQ_STREAM
from soleflip.common.stockx import BudgetUsage, read_usage
from soleflip.console.backends import Outcome, attempt
from soleflip.console.http._common import (
    AnyRequest,
    SectionLoader,
    Service,
    page,
    section_page,
    session_of,
)
from soleflip.console.service import ConsoleService

SERVICES = ("ingest", "catalog", "orders", "pricing")
CHART_DAYS = 30
#: Orders to ship counted exactly up to this many ("100+" beyond: the page lists none of them).
SHIP_LIMIT = 100
HELD = ("IN_STOCK", "LISTED")


@dataclass
class Bar:
    x: float
    y: float
    height: float
    day: str
    value: str
    #: `pos`, `neg` or `zero` (a day without sales draws a hairline).
    kind: str


@dataclass
class Chart:
    currency: str
    bars: list[Bar] = field(default_factory=list)
    top: str = "0"
    bottom: str = "0"
    axis_y: float = 0.0


@dataclass
class Profit:
    currency: str
    week: Decimal = Decimal(0)
    month: Decimal = Decimal(0)
    week_sales: int = 0
    month_sales: int = 0


def profits(rows: list[dict[str, Any]], today: date) -> tuple[list[Profit], list[Chart]]:
    """Week (ISO, from Monday) and month totals per currency, and a daily chart of 30 days."""
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    totals: dict[str, Profit] = {}
    daily: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        currency, key = str(row["currency"]), str(row["key"])[:10]
        try:
            day = date.fromisoformat(key)
        except ValueError:
            continue
        profit = Decimal(str(row.get("profit") or 0))
        total = totals.setdefault(currency, Profit(currency))
        sales = int(row.get("sales") or 0)
        if day >= monday:
            total.week += profit
            total.week_sales += sales
        if day >= first:
            total.month += profit
            total.month_sales += sales
        daily[currency][key] = daily[currency].get(key, Decimal(0)) + profit
    charts = [chart(currency, values, today) for currency, values in sorted(daily.items())]
    return [totals[c] for c in sorted(totals)], charts


def chart(currency: str, values: dict[str, Decimal], today: date) -> Chart:
    """Bars in a 300 x 100 box: one per day, the zero line where the values put it."""
    days = [(today - timedelta(days=CHART_DAYS - 1 - i)).isoformat() for i in range(CHART_DAYS)]
    series = [values.get(d, Decimal(0)) for d in days]
    top, bottom = max([*series, Decimal(0)]), min([*series, Decimal(0)])
    span = (top - bottom) or Decimal(1)
    axis = float(top / span) * 100
    width = 300 / CHART_DAYS
    bars = []
    for i, (day, value) in enumerate(zip(days, series, strict=True)):
        height = float(abs(value) / span) * 100
        y = axis - height if value >= 0 else axis
        kind = "pos" if value > 0 else "neg" if value < 0 else "zero"
        bars.append(Bar(i * width + 1, y, height, day, f"{value:.2f}", kind))
    return Chart(currency, bars, f"{top:.2f}", f"{bottom:.2f}", axis)


def inventory_value(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Held units (in stock or listed) and their value at landed cost, per currency."""
    held: dict[str, dict[str, Any]] = {}
    for row in report.get("by_status", []):
        if row.get("status") not in HELD:
            continue
        entry = held.setdefault(
            row["currency"],
            {"currency": row["currency"], "units": 0, "value": Decimal(0), "cost_missing": 0},
        )
        entry["units"] += int(row.get("units") or 0)
        entry["value"] += Decimal(str(row.get("value") or 0))
        entry["cost_missing"] += int(row.get("cost_missing") or 0)
    return [held[c] for c in sorted(held)]


async def dead_letters_waiting(service: ConsoleService) -> int:
    js = await service.jetstream()
    from nats.js.errors import NotFoundError

    try:
        info = await js.stream_info(service.names.stream(DLQ_STREAM))
    except NotFoundError:
        return 0
    return int(info.state.messages)


async def stockx_budget(service: ConsoleService) -> list[BudgetUsage]:
    """StockX calls granted today per API key and per priority, from the shared budget record
    (NATS KV `stockx_budget`, as every service's StockX client keeps it; read, never written)."""
    return await read_usage(
        await service.jetstream(),
        service.names,
        daily=service.settings.stockx_daily_budget,
        now=service.now().timestamp(),
    )


async def health(service: ConsoleService) -> list[tuple[str, str]]:
    states = await asyncio.gather(*(service.backends.ready(s) for s in SERVICES))
    return list(zip(SERVICES, states, strict=True))


async def _sales(service: ConsoleService, start: date) -> dict[str, Any]:
    return await service.backends.get(  # type: ignore[no-any-return]
        "orders", "/api/v1/reports/sales", **{"from": start.isoformat(), "group_by": "day"}
    )


async def profit_section(service: ConsoleService) -> dict[str, Any]:
    today = service.now().date()
    start = min(
        today - timedelta(days=today.weekday()),
        today.replace(day=1),
        today - timedelta(days=CHART_DAYS - 1),
    )
    sales = await attempt(_sales(service, start))
    totals, charts = profits(sales.value["rows"], today) if sales.value else ([], [])
    return {"sales": sales, "totals": totals, "charts": charts}


async def inventory_section(service: ConsoleService) -> dict[str, Any]:
    report = await attempt(service.backends.get("orders", "/api/v1/reports/inventory"))
    value = inventory_value(report.value) if report.value is not None else None
    market = (report.value or {}).get("market") or []
    return {"inventory": Outcome(value=value, error=report.error), "market": market}


async def shipping_section(service: ConsoleService) -> dict[str, Any]:
    ship = await attempt(
        service.backends.get("orders", "/api/v1/reports/need-to-ship", limit=SHIP_LIMIT)
    )
    if ship.value is None:
        return {"shipping": Outcome(error=ship.error)}
    items = ship.value["items"]
    summary = {
        "count": f"{len(items)}{'+' if ship.value.get('next_cursor') else ''}",
        "overdue": sum(1 for i in items if i.get("overdue")),
        "next": next((i for i in items if i.get("ship_by")), None),
    }
    return {"shipping": Outcome(value=summary)}


async def payouts_section(service: ConsoleService) -> dict[str, Any]:
    return {
        "payouts": await attempt(service.backends.get("orders", "/api/v1/payouts/pending", limit=1))
    }


async def letters_section(service: ConsoleService) -> dict[str, Any]:
    return {"letters": await attempt(dead_letters_waiting(service))}


async def health_section(service: ConsoleService) -> dict[str, Any]:
    states, budget = await asyncio.gather(health(service), attempt(stockx_budget(service)))
    return {"states": states, "budget": budget}


#: The sections of *Today*, each also served alone at `/today/{name}` (htmx loads them in
#: parallel after the page, so the page never waits for its slowest figure).
SECTIONS: dict[str, SectionLoader] = {
    "profit": profit_section,
    "inventory": inventory_section,
    "shipping": shipping_section,
    "payouts": payouts_section,
    "letters": letters_section,
    "health": health_section,
}


class TodayController(Controller):
    include_in_schema = False

    @get("/")
    async def today(self, request: AnyRequest, service: Service) -> Template:
        """The page; `?full=1` (the link shown without JavaScript) renders every section now."""
        session = session_of(request, service)
        lazy = request.query_params.get("full") != "1"
        context: dict[str, Any] = {}
        if not lazy:
            for part in await asyncio.gather(*(load(service) for load in SECTIONS.values())):
                context.update(part)
        return page(
            request, "today.html", session, active="today", now=service.now(), lazy=lazy, **context
        )

    @get("/today/{section:str}")
    async def section(self, request: AnyRequest, service: Service, section: str) -> Template:
        return await section_page(request, service, SECTIONS, section, "today_fragment.html")
