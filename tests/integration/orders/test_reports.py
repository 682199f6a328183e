"""KPI reports against real Postgres and NATS on a seeded data set: every figure is recomputed
here in Python from the seeded rows (not with the service's SQL) and compared.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import msgspec
import pytest

from soleflip.common.bus import Outgoing
from soleflip.common.contracts import new_event
from soleflip.common.contracts.pricing import MARKET_UPDATED, MarketSnapshot
from soleflip.orders.domain import NO_SALE_STATUSES, PAID_STATUSES
from tests.integration.orders.conftest import Rest
from tests.support.wait import until

NOW = datetime.now(UTC).replace(microsecond=0)
STOCK_STATES = ("ORDERED", "IN_STOCK", "LISTED", "SOLD", "SHIPPED", "RETURNED", "KEPT")
SALE_STATUSES = ("CREATED", "SHIPPED", "AUTHENTICATED", "PAYOUTCOMPLETED", "COMPLETED")
FAILED = ("CANCELED", "DIDNOTSHIP", "AUTHFAILED")
SUPPLIERS = ("Nike SNKRS", "Zalando", "Private")
HELD = ("IN_STOCK", "LISTED")
VARIANTS = ("v-1", "v-2", "v-3", "v-4", "v-5", "v-6")
PRODUCTS = ("prod-1", "prod-2", "prod-3", "prod-4")
#: orders' catalog copy: brands of three products (prod-4 has none); v-1 belongs to prod-3.
BRANDS = {"prod-1": "Nike", "prod-2": "Nike", "prod-3": "adidas"}
VARIANT_PRODUCT = {"v-1": "prod-3"}


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _z(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _units(rng: random.Random, n: int) -> list[dict[str, Any]]:
    units = []
    for i in range(n):
        missing = rng.random() < 0.1
        units.append(
            {
                "external_id": f"p-{i}",
                "size": str(rng.randint(7, 12)),
                "currency": rng.choice(("EUR", "USD")),
                "supplier": rng.choice(SUPPLIERS),
                "purchased_at": NOW
                - timedelta(days=rng.randint(0, 400), minutes=rng.randint(0, 1439)),
                "status": rng.choice(STOCK_STATES),
                "variant_id": None if rng.random() < 0.1 else rng.choice(VARIANTS),
                "landed_cost": None if missing else _money(rng, 40, 300),
                "cost_missing": missing,
            }
        )
    return units


def _orders(rng: random.Random, units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    orders = []
    for i, unit in enumerate(units[:250]):
        status = rng.choice(SALE_STATUSES + FAILED)
        created = unit["purchased_at"] + timedelta(
            days=rng.randint(0, 60), minutes=rng.randint(0, 600)
        )
        amount = Decimal(rng.randint(60, 500))
        net = (amount * Decimal("0.85")).quantize(Decimal("0.01"))
        sale = status not in NO_SALE_STATUSES
        fee = Decimal("15.00") if status == "DIDNOTSHIP" else None
        cost = unit["landed_cost"]
        profit = (net - cost) if sale and cost is not None else (-fee if fee else None)
        ship_by = None if rng.random() < 0.2 else NOW + timedelta(hours=rng.randint(-72, 72))
        orders.append(
            {
                "order_number": f"o-{i:04d}",
                "status": status,
                "created_at": min(created, NOW - timedelta(minutes=1)),
                "currency": unit["currency"],
                "amount": amount,
                "net_proceeds": net if sale else None,
                "landed_cost": cost if sale else None,
                "profit": profit,
                "cancellation_fee": fee,
                "unit": unit,
                "variant_id": unit["variant_id"],
                "product_id": rng.choice(PRODUCTS),
                "ship_by": ship_by,
            }
        )
    return orders


async def _seed(rest: Rest) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(1414)
    units = _units(rng, 400)
    async with rest.service.pool.acquire() as conn:
        for product, brand in BRANDS.items():
            await conn.execute(
                """INSERT INTO catalog_product (stockx_product_id, style_keys, brand)
                   VALUES ($1, '{}', $2)""",
                product,
                brand,
            )
        for variant, product in VARIANT_PRODUCT.items():
            await conn.execute(
                """INSERT INTO catalog_variant (stockx_variant_id, stockx_product_id)
                   VALUES ($1, $2)""",
                variant,
                product,
            )
        for unit in units:
            unit["id"] = await conn.fetchval(
                """INSERT INTO stock_item (external_id, unit, sku, size, size_type, unit_cost,
                       landed_cost, cost_missing, currency, supplier, purchased_at, status,
                       variant_id)
                   VALUES ($1, 1, 'DD1391-100', $2, 'us m', coalesce($3::numeric, 0), $3, $4,
                       $5, $6, $7, $8, $9) RETURNING id""",
                unit["external_id"],
                unit["size"],
                unit["landed_cost"],
                unit["cost_missing"],
                unit["currency"],
                unit["supplier"],
                unit["purchased_at"],
                unit["status"],
                unit["variant_id"],
            )
        orders = _orders(rng, units)
        for o in orders:
            shipment = {"shipByDate": _z(o["ship_by"])} if o["ship_by"] else None
            await conn.execute(
                """INSERT INTO "order" (order_number, status, status_rank, created_at, updated_at,
                       currency, amount, net_proceeds, landed_cost, profit, cancellation_fee,
                       stock_item_id, product_id, shipment, variant_id)
                   VALUES ($1, $2, 1, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb,
                       $13)""",
                o["order_number"],
                o["status"],
                o["created_at"],
                o["currency"],
                o["amount"],
                o["net_proceeds"],
                o["landed_cost"],
                o["profit"],
                o["cancellation_fee"],
                o["unit"]["id"],
                o["product_id"],
                shipment,
                o["variant_id"],
            )
    return units, orders


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _bucket(as_of: datetime, purchased_at: datetime) -> str:
    age = math.floor((as_of - purchased_at).total_seconds() / 86400)
    return "0-30" if age <= 30 else "31-90" if age <= 90 else "91-180" if age <= 180 else ">180"


def _check_inventory(body: dict[str, Any], units: list[dict[str, Any]]) -> None:
    """by_status and aging of the report against the units, recomputed here."""
    as_of = datetime.fromisoformat(body["as_of"].replace("Z", "+00:00"))
    expected: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0), 0])
    for u in units:
        entry = expected[(u["status"], u["currency"])]
        entry[0] += 1
        entry[1] += u["landed_cost"] or 0
        entry[2] += u["landed_cost"] is None
    got = {
        (r["status"], r["currency"]): [r["units"], _d(r["value"]), r["cost_missing"]]
        for r in body["by_status"]
    }
    assert got == dict(expected)

    aging: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for u in units:
        if u["status"] in HELD:
            entry = aging[(_bucket(as_of, u["purchased_at"]), u["currency"])]
            entry[0] += 1
            entry[1] += u["landed_cost"] or 0
    got_aging = {(r["bucket"], r["currency"]): [r["units"], _d(r["value"])] for r in body["aging"]}
    assert got_aging == dict(aging)


async def test_inventory_value_by_status_and_aging(rest: Rest) -> None:
    units, _ = await _seed(rest)
    body = (await rest.call("GET", "/api/v1/reports/inventory")).json()
    _check_inventory(body, units)
    assert len(body["aging"]) >= 6  # the seed reaches every bucket


async def test_inventory_aging_at_bucket_edges(rest: Rest) -> None:
    """Units bought just before and after each bucket's boundary land in the right bucket,
    also when the summary's other days are read whole."""
    units, _ = await _seed(rest)
    edge_units = []
    async with rest.service.pool.acquire() as conn:
        for i, days in enumerate((31, 91, 181)):
            for j, offset in enumerate((-90, 90)):  # seconds either side of the boundary
                unit = {
                    "external_id": f"edge-{i}-{j}",
                    "purchased_at": NOW - timedelta(days=days, seconds=offset),
                    "currency": "EUR",
                    "status": "IN_STOCK",
                    "landed_cost": Decimal("10.00"),
                    "variant_id": None,
                }
                await conn.execute(
                    """INSERT INTO stock_item (external_id, unit, sku, size, size_type,
                           unit_cost, landed_cost, currency, supplier, purchased_at, status)
                       VALUES ($1, 1, 'DD1391-100', '9', 'us m', 10, 10, 'EUR', 'Private',
                           $2, 'IN_STOCK')""",
                    unit["external_id"],
                    unit["purchased_at"],
                )
                edge_units.append(unit)
    body = (await rest.call("GET", "/api/v1/reports/inventory")).json()
    _check_inventory(body, units + edge_units)


async def test_inventory_in_a_purchase_window_and_currency(rest: Rest) -> None:
    units, _ = await _seed(rest)
    start, end = NOW - timedelta(days=150, hours=5), NOW - timedelta(days=20, hours=7)
    query = f"from={_z(start)}&to={_z(end)}&currency=usd"
    body = (await rest.call("GET", f"/api/v1/reports/inventory?{query}")).json()
    chosen = [u for u in units if start <= u["purchased_at"] < end and u["currency"] == "USD"]
    assert len(chosen) > 50
    _check_inventory(body, chosen)


def _expected_sales(
    orders: list[dict[str, Any]], key: Any, start: datetime, end: datetime, currency: str
) -> dict[Any, dict[str, Any]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for o in orders:
        if start <= o["created_at"] < end and o["currency"] == currency:
            groups[key(o)].append(o)
    result = {}
    for k, rows in groups.items():
        sales = [o for o in rows if o["status"] not in NO_SALE_STATUSES]
        failed = [o for o in rows if o["status"] in NO_SALE_STATUSES]
        with_profit = [o for o in sales if o["profit"] is not None]
        cost = sum((o["landed_cost"] for o in with_profit), Decimal(0))
        sales_profit = sum((o["profit"] for o in with_profit), Decimal(0))
        charges = sum((o["cancellation_fee"] or 0 for o in failed), Decimal(0))
        days = [
            Decimal((o["created_at"] - o["unit"]["purchased_at"]).total_seconds()) / 86400
            for o in sales
        ]
        result[k] = {
            "sales": len(sales),
            "revenue": sum((o["amount"] for o in sales), Decimal(0)),
            "net_proceeds": sum((o["net_proceeds"] for o in sales), Decimal(0)),
            "landed_cost": cost,
            "profit": sales_profit - charges,
            "roi": _ratio(sales_profit, cost),
            "cancellations": len(failed),
            "cancellation_charges": charges,
            "avg_days_to_sell": (sum(days) / len(days)).quantize(Decimal("0.1"), ROUND_HALF_UP)
            if days
            else None,
        }
    return result


def _brand(o: dict[str, Any]) -> str | None:
    """The brand of orders' catalog copy: the order's variant's product, else its product."""
    return BRANDS.get(VARIANT_PRODUCT.get(o["variant_id"] or "") or o["product_id"])


def _got_sales(body: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    got = {}
    for r in body["rows"]:
        got[r["key"]] = {
            "sales": r["sales"],
            "revenue": _d(r["revenue"]),
            "net_proceeds": _d(r["net_proceeds"]),
            "landed_cost": _d(r["landed_cost"]),
            "profit": _d(r["profit"]),
            "roi": None if r["roi"] is None else _d(r["roi"]),
            "cancellations": r["cancellations"],
            "cancellation_charges": _d(r["cancellation_charges"]),
            "avg_days_to_sell": None
            if r["avg_days_to_sell"] is None
            else _d(r["avg_days_to_sell"]),
        }
    return got


@pytest.mark.parametrize(
    ("group_by", "key"),
    [
        ("day", lambda o: o["created_at"].date().isoformat()),
        ("month", lambda o: o["created_at"].date().replace(day=1).isoformat()),
        (
            "week",
            lambda o: (
                o["created_at"].date() - timedelta(days=o["created_at"].weekday())
            ).isoformat(),
        ),
        ("supplier", lambda o: o["unit"]["supplier"]),
        ("product", lambda o: o["product_id"]),
        ("brand", _brand),
        ("size", lambda o: "us m " + o["unit"]["size"]),
    ],
)
async def test_sales_kpis_by_period_and_group(rest: Rest, group_by: str, key: Any) -> None:
    units, orders = await _seed(rest)
    start, end = NOW - timedelta(days=200), NOW
    query = f"from={_z(start)}&to={_z(end)}&currency=eur&group_by={group_by}"
    body = (await rest.call("GET", f"/api/v1/reports/sales?{query}")).json()
    assert {r["currency"] for r in body["rows"]} == {"EUR"}
    expected = _expected_sales(orders, key, start, end, "EUR")
    assert len(expected) >= 3
    assert _got_sales(body) == expected

    sold = sum(
        1
        for o in orders
        if start <= o["created_at"] < end
        and o["currency"] == "EUR"
        and o["status"] not in NO_SALE_STATUSES
    )
    held = sum(1 for u in units if u["status"] in HELD and u["currency"] == "EUR")
    through = body["sell_through"]
    assert (through["sold"], through["held"]) == (sold, held)
    assert _d(through["rate"]) == _ratio(Decimal(sold), Decimal(sold + held))

    # Each row's sell-through: its sold units ÷ (those + its group's units held now).
    periods = group_by in ("day", "week", "month")
    for row in body["rows"]:
        group_held = sum(
            1
            for u in units
            if u["status"] in HELD
            and u["currency"] == "EUR"
            and (periods or _held_key(group_by, u) == row["key"])
        )
        assert row["sold"] == row["sales"]  # every sale here has its unit
        assert row["held"] == group_held, row
        rate = _ratio(Decimal(row["sold"]), Decimal(row["sold"] + group_held))
        assert (row["sell_through"] and _d(row["sell_through"])) == rate, row
    answer = await rest.call("GET", f"/api/v1/reports/sales?{query}&format=csv")
    assert answer.status_code == 200
    lines = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["key"], r["sold"], r["held"], r["sell_through"]) for r in lines] == [
        (_blank(r["key"]), str(r["sold"]), str(r["held"]), _blank(r["sell_through"]))
        for r in body["rows"]
    ]


_NOT_HELD = object()  # a unit no held count of the grouping includes


def _held_key(group_by: str, unit: dict[str, Any]) -> object:
    """The sales key under which the report counts `unit` as held (computed here from the
    seed, not with the service's SQL)."""
    if group_by == "supplier":
        return unit["supplier"]
    if group_by == "size":
        return "us m " + unit["size"]
    product = VARIANT_PRODUCT.get(unit["variant_id"] or "")
    if product is None:  # the catalog copy does not know the unit's variant
        return _NOT_HELD
    return product if group_by == "product" else BRANDS.get(product)


async def _check_held(rest: Rest, units: list[dict[str, Any]]) -> None:
    """Every grouping's held counts (both currencies) and the total against the units."""
    start = NOW - timedelta(days=400)
    for group_by in ("day", "size", "supplier", "product", "brand"):
        query = f"from={_z(start)}&to={_z(NOW)}&group_by={group_by}"
        body = (await rest.call("GET", f"/api/v1/reports/sales?{query}")).json()
        held = [u for u in units if u["status"] in HELD]
        assert body["sell_through"]["held"] == len(held), group_by
        assert len(body["rows"]) >= 6, group_by
        for row in body["rows"]:
            expected = sum(
                1
                for u in held
                if u["currency"] == row["currency"]
                and (group_by == "day" or _held_key(group_by, u) == row["key"])
            )
            assert row["held"] == expected, (group_by, row)


async def test_held_counts_follow_units_through_their_states(rest: Rest) -> None:
    """A unit bought, received, listed, sold, returned and back in stock, moved to another
    size, supplier or currency, or deleted, moves every grouping's held count with it."""
    units, _ = await _seed(rest)
    await _check_held(rest, units)
    rng = random.Random(2020)
    moving = rng.sample(units, 30)
    async with rest.service.pool.acquire() as conn:

        async def set_status(chosen: list[dict[str, Any]], status: str) -> None:
            for u in chosen:
                u["status"] = status
            await conn.execute(
                "UPDATE stock_item SET status = $2 WHERE id = ANY($1::bigint[])",
                [u["id"] for u in chosen],
                status,
            )

        for status in ("ORDERED", "IN_STOCK", "LISTED", "SOLD", "SHIPPED", "RETURNED", "IN_STOCK"):
            await set_status(moving, status)
            await _check_held(rest, units)
        await set_status(moving[:10], "LISTED")  # a held unit listed: counts stay
        await _check_held(rest, units)

        # Held units moved, each in one key only: to another size, supplier or currency.
        for column, chosen, value in (
            ("size", moving[0:3], lambda u: "7" if u["size"] != "7" else "8"),
            (
                "supplier",
                moving[3:6],
                lambda u: "Private" if u["supplier"] != "Private" else "Zalando",
            ),
            ("currency", moving[6:9], lambda u: "USD" if u["currency"] == "EUR" else "EUR"),
        ):
            for u in chosen:
                u[column] = value(u)
                await conn.execute(
                    f"UPDATE stock_item SET {column} = $2 WHERE id = $1",  # noqa: S608
                    u["id"],
                    u[column],
                )
            await _check_held(rest, units)

        gone = [u for u in units[250:] if u["status"] in HELD][:5]  # no order names them
        await conn.execute(
            "DELETE FROM stock_item WHERE id = ANY($1::bigint[])", [u["id"] for u in gone]
        )
        units = [u for u in units if u not in gone]
    await _check_held(rest, units)


async def test_need_to_ship_is_sorted_by_ship_by_with_overdue_flags_over_pages(rest: Rest) -> None:
    _, orders = await _seed(rest)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = "limit=7" + (f"&cursor={cursor}" if cursor else "")
        body = (await rest.call("GET", f"/api/v1/reports/need-to-ship?{query}")).json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    as_of = datetime.fromisoformat(body["as_of"].replace("Z", "+00:00"))
    far = datetime.max.replace(tzinfo=UTC)
    due = sorted(
        (o for o in orders if o["status"] == "CREATED"),
        key=lambda o: (o["ship_by"] or far, o["order_number"]),
    )
    assert len(due) > 14
    assert [i["order_number"] for i in seen] == [o["order_number"] for o in due]
    by_number = {o["order_number"]: o for o in due}
    for item in seen:
        ship_by = by_number[item["order_number"]]["ship_by"]
        # The flag is computed at each page's own moment; the seed keeps a minute from it.
        assert item["overdue"] == (ship_by is not None and ship_by < as_of)
        assert item["sku"] == "DD1391-100"


def _market_event(
    variant: str, currency: str, ask: str | None, bid: str | None, at: datetime
) -> Outgoing:
    snapshot = MarketSnapshot(
        variant_id=variant,
        currency=currency,
        lowest_ask=None if ask is None else Decimal(ask),
        highest_bid=None if bid is None else Decimal(bid),
        observed_at=at,
    )
    event = new_event(MARKET_UPDATED, snapshot, source="test")
    return Outgoing(MARKET_UPDATED, msgspec.json.encode(event), event.id)


async def test_value_at_market_from_pricing_market_events(rest: Rest) -> None:
    units, _ = await _seed(rest)
    at = NOW - timedelta(hours=1)
    market = {
        ("v-1", "EUR"): (Decimal("210.00"), Decimal("180.00")),
        ("v-1", "USD"): (Decimal("230.00"), None),
        ("v-2", "EUR"): (Decimal("99.50"), Decimal("90.00")),
        ("v-3", "USD"): (None, Decimal("120.00")),
        ("v-4", "EUR"): (Decimal("400.00"), Decimal("310.00")),
    }
    events = [
        _market_event(v, c, None if a is None else str(a), None if b is None else str(b), at)
        for (v, c), (a, b) in market.items()
    ]
    # Older observations arriving later never replace the newer ones.
    events.append(_market_event("v-1", "EUR", "1.00", "1.00", at - timedelta(days=1)))
    events.append(_market_event("v-4", "EUR", "2.00", None, at - timedelta(minutes=5)))
    await rest.service.runtime.publisher.publish_many(events)

    async def copied() -> bool:
        async with rest.service.pool.acquire() as conn:
            rows = await conn.fetch("SELECT variant_id, currency, observed_at FROM market_latest")
        return len(rows) == len(market) and all(r["observed_at"] == at for r in rows)

    await until(copied, 30)
    await asyncio.sleep(0.5)  # the stale copies were published after: let them be applied

    body = (await rest.call("GET", "/api/v1/reports/inventory")).json()
    async with rest.service.pool.acquire() as conn:
        schedule = (await rest.service.fees(conn)).at(datetime.now(UTC))
    expected: dict[str, dict[str, Any]] = {}
    for u in units:
        if u["status"] not in HELD or u["variant_id"] is None:
            continue
        e = expected.setdefault(
            u["currency"],
            {
                "units": 0, "units_at_ask": 0, "value_at_lowest_ask": Decimal(0),
                "payout_at_lowest_ask": Decimal(0), "unrealised_profit_at_ask": Decimal(0),
                "units_at_bid": 0, "value_at_highest_bid": Decimal(0),
                "payout_at_highest_bid": Decimal(0), "unrealised_profit_at_bid": Decimal(0),
            },
        )  # fmt: skip
        # Unrealised profit at market is what a sale there pays out (after StockX's fees, the
        # fee library's formula: docs/fees.md) less the landed cost.
        payout = schedule.terms(u["currency"]).payout
        ask, bid = market.get((u["variant_id"], u["currency"]), (None, None))
        e["units"] += 1
        cost = u["landed_cost"]
        if ask is not None:
            e["units_at_ask"] += 1
            e["value_at_lowest_ask"] += ask
            e["payout_at_lowest_ask"] += payout(ask)
            e["unrealised_profit_at_ask"] += payout(ask) - cost if cost is not None else 0
        if bid is not None:
            e["units_at_bid"] += 1
            e["value_at_highest_bid"] += bid
            e["payout_at_highest_bid"] += payout(bid)
            e["unrealised_profit_at_bid"] += payout(bid) - cost if cost is not None else 0
    got = {
        r["currency"]: {
            k: v if isinstance(v, int) else _d(v) for k, v in r.items() if k != "currency"
        }
        for r in body["market"]
    }
    assert got == expected
    assert all(e["units_at_ask"] > 0 for e in expected.values())
    # Fees make a difference here: every payout is below its price.
    assert all(e["payout_at_lowest_ask"] < e["value_at_lowest_ask"] for e in expected.values())


async def test_reports_follow_later_changes_of_orders_units_and_catalog(rest: Rest) -> None:
    """The summaries the reports read are kept by the write path: a status change, a moved
    unit, a corrected cost, a deleted order and a brand that arrives later all show."""
    units, orders = await _seed(rest)
    rng = random.Random(77)
    async with rest.service.pool.acquire() as conn:
        for o in rng.sample(orders, 40):
            o["status"] = "CANCELED"
            o["net_proceeds"] = o["landed_cost"] = None
            o["profit"] = -o["cancellation_fee"] if o["cancellation_fee"] else None
            await conn.execute(
                """UPDATE "order" SET status = 'CANCELED', net_proceeds = NULL,
                       landed_cost = NULL, profit = $2 WHERE order_number = $1""",
                o["order_number"],
                o["profit"],
            )
        for u in rng.sample(units, 60):
            u["supplier"] = "Auction"
            u["status"] = "SOLD" if u["status"] in HELD else "IN_STOCK"
            u["landed_cost"] = Decimal("77.70")
            u["cost_missing"] = False
            u["purchased_at"] -= timedelta(days=3)
            await conn.execute(
                """UPDATE stock_item SET supplier = 'Auction', status = $2, landed_cost = 77.70,
                       cost_missing = false, purchased_at = $3 WHERE id = $1""",
                u["id"],
                u["status"],
                u["purchased_at"],
            )
        gone = orders.pop(5)
        await conn.execute('DELETE FROM "order" WHERE order_number = $1', gone["order_number"])
        await conn.execute(
            """INSERT INTO catalog_product (stockx_product_id, style_keys, brand)
               VALUES ('prod-4', '{}', 'Asics')"""
        )
        await conn.execute(
            "UPDATE catalog_product SET brand = 'Jordan' WHERE stockx_product_id = 'prod-2'"
        )
    brands = {**BRANDS, "prod-4": "Asics", "prod-2": "Jordan"}

    _check_inventory((await rest.call("GET", "/api/v1/reports/inventory")).json(), units)
    start, end = NOW - timedelta(days=300), NOW
    for group_by, key in (
        ("supplier", lambda o: o["unit"]["supplier"]),
        (
            "brand",
            lambda o: brands.get(VARIANT_PRODUCT.get(o["variant_id"] or "") or o["product_id"]),
        ),
        ("month", lambda o: o["created_at"].date().replace(day=1).isoformat()),
    ):
        query = f"from={_z(start)}&to={_z(end)}&currency=EUR&group_by={group_by}"
        body = (await rest.call("GET", f"/api/v1/reports/sales?{query}")).json()
        assert _got_sales(body) == _expected_sales(orders, key, start, end, "EUR"), group_by


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv"), response.text[:300]
    return list(csv.DictReader(io.StringIO(response.text)))


def _blank(value: Any) -> str:
    return "" if value is None else str(value)


async def test_every_report_answers_csv_with_the_json_figures(rest: Rest) -> None:
    await _seed(rest)
    start = NOW - timedelta(days=200)
    query = f"from={_z(start)}&to={_z(NOW)}&group_by=supplier"
    body = (await rest.call("GET", f"/api/v1/reports/sales?{query}")).json()
    rows = _csv(await rest.call("GET", f"/api/v1/reports/sales?{query}&format=csv"))
    assert [(r["key"], r["currency"], r["revenue"], r["profit"], r["roi"]) for r in rows] == [
        (_blank(r["key"]), r["currency"], r["revenue"], r["profit"], _blank(r["roi"]))
        for r in body["rows"]
    ]
    inventory = (await rest.call("GET", "/api/v1/reports/inventory")).json()
    accept = {"Accept": "text/csv"}
    rows = _csv(await rest.call("GET", "/api/v1/reports/inventory", headers=accept))
    by_status = [(r["status"], r["currency"], r["units"], r["value"]) for r in rows
                 if r["section"] == "by_status"]  # fmt: skip
    assert by_status == [
        (r["status"], r["currency"], str(r["units"]), r["value"]) for r in inventory["by_status"]
    ]
    aging = [(r["bucket"], r["currency"], r["units"]) for r in rows if r["section"] == "aging"]
    assert aging == [(r["bucket"], r["currency"], str(r["units"])) for r in inventory["aging"]]

    due: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = (
            await rest.call(
                "GET",
                "/api/v1/reports/need-to-ship?limit=9" + (f"&cursor={cursor}" if cursor else ""),
            )
        ).json()
        due += page["items"]
        if (cursor := page["next_cursor"]) is None:
            break
    rows = _csv(await rest.call("GET", "/api/v1/reports/need-to-ship?format=csv"))
    assert [(r["order_number"], r["amount"], r["currency"]) for r in rows] == [
        (i["order_number"], i["amount"], i["currency"]) for i in due
    ]


async def test_pending_payouts_in_reports_match_the_payouts_route(rest: Rest) -> None:
    _, orders = await _seed(rest)
    ours = (await rest.call("GET", "/api/v1/reports/pending-payouts?limit=500")).json()
    theirs = (await rest.call("GET", "/api/v1/payouts/pending?limit=500")).json()
    assert ours == theirs
    pending = {
        o["order_number"]
        for o in orders
        if o["status"] not in NO_SALE_STATUSES and o["status"] not in PAID_STATUSES
    }
    assert {i["order_number"] for i in ours["items"]} == pending
    rows = _csv(await rest.call("GET", "/api/v1/reports/pending-payouts?format=csv"))
    assert [(r["order_number"], r["expected_payout"]) for r in rows] == [
        (i["order_number"], i["expected_payout"]["amount"] if i["expected_payout"] else "")
        for i in ours["items"]
    ]


async def test_listings_priced_above_the_lowest_ask(rest: Rest) -> None:
    rng = random.Random(5)
    asks = {("v-1", "EUR"): Decimal("100.00"), ("v-2", "EUR"): Decimal("250.00"),
            ("v-2", "USD"): Decimal("260.00"), ("v-3", "USD"): Decimal("80.00")}  # fmt: skip
    listings = []
    async with rest.service.pool.acquire() as conn:
        for (variant, currency), ask in asks.items():
            await conn.execute(
                """INSERT INTO market_latest (variant_id, currency, lowest_ask, highest_bid,
                       observed_at) VALUES ($1, $2, $3, NULL, now())""",
                variant,
                currency,
                ask,
            )
        for i in range(120):
            variant = rng.choice(("v-1", "v-2", "v-3", "v-4"))
            currency = rng.choice(("EUR", "USD"))
            amount = Decimal(rng.randint(60, 320))
            status = rng.choice(("ACTIVE", "ACTIVE", "INACTIVE"))
            listing = (f"l-{i:03d}", status, variant, currency, amount)
            listings.append(listing)
            await conn.execute(
                """INSERT INTO listing (listing_id, status, status_rank, variant_id, amount,
                       currency, updated_at) VALUES ($1, $2, 1, $3, $5, $4, now())""",
                *listing,
            )
    expected = sorted(
        (lid, amount)
        for lid, status, variant, currency, amount in listings
        if status == "ACTIVE"
        and (variant, currency) in asks
        and amount > asks[(variant, currency)] * Decimal("1.10")
    )
    assert len(expected) > 10
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = "above_pct=10&limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = (await rest.call("GET", f"/api/v1/reports/overpriced-listings?{query}")).json()
        seen += page["items"]
        if (cursor := page["next_cursor"]) is None:
            break
    assert [(i["listing_id"], _d(i["amount"])) for i in seen] == expected
    for item in seen:
        ask = _d(item["lowest_ask"])
        pct = ((_d(item["amount"]) / ask - 1) * 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert _d(item["above_pct"]) == pct
    rows = _csv(
        await rest.call("GET", "/api/v1/reports/overpriced-listings?above_pct=10&format=csv")
    )
    assert [(r["listing_id"], Decimal(r["amount"])) for r in rows] == expected


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/reports/sales?group_by=brandx", "group_by"),
        ("/api/v1/reports/sales?currency=EURO", "currency"),
        ("/api/v1/reports/inventory?from=yesterday", "from"),
        ("/api/v1/reports/need-to-ship?cursor=WyJub3QgYSB0aW1lIiwieCJd", "cursor"),
        ("/api/v1/reports/overpriced-listings?above_pct=NaN", "above_pct"),
        ("/api/v1/reports/overpriced-listings?above_pct=1e9", "above_pct"),
        ("/api/v1/reports/overpriced-listings?above_pct=-1", "above_pct"),
        ("/api/v1/reports/sales?format=xml", "format"),
    ],
)
async def test_bad_report_parameters_are_problem_json(rest: Rest, path: str, field: str) -> None:
    response = await rest.call("GET", path)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
