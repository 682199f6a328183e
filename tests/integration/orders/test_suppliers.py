"""Suppliers against real Postgres and NATS: the migration of free-text values, REST CRUD, the
link between units and suppliers, and per-supplier stats recomputed here in Python from the
seeded rows (not with the service's SQL)."""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import asyncpg

from soleflip.common.contracts import uuid7
from soleflip.orders.domain import NO_SALE_STATUSES
from tests.integration.orders.conftest import Rest
from tests.integration.orders.support import (
    event,
    migrate_orders,
    migrate_orders_before,
    publish_events,
)
from tests.support.wait import until

NOW = datetime.now(UTC).replace(microsecond=0)
SUPPLIERS = ("Nike SNKRS", "Zalando", "eBay", "Max (private)")
STATUSES = ("CREATED", "SHIPPED", "COMPLETED", "PAYOUTCOMPLETED", "CANCELED", "DIDNOTSHIP")


async def test_migration_turns_free_text_suppliers_into_entities(
    fresh_database: str, tmp_path: Path
) -> None:
    await migrate_orders_before(fresh_database, "0013", tmp_path)
    texts = ["Nike SNKRS", "nike snkrs ", "Zalando", "  Zalando", "eBay", " "]
    conn = await asyncpg.connect(fresh_database)
    try:
        for i, text in enumerate(texts):
            await conn.execute(
                """INSERT INTO orders.stock_item (external_id, unit, sku, size, size_type,
                       unit_cost, currency, supplier, purchased_at)
                   VALUES ($1, 1, 'DD1391-100', '10', 'us m', 100, 'EUR', $2, now())""",
                f"m-{i}",
                text,
            )
        await migrate_orders(fresh_database)
        suppliers = await conn.fetch("SELECT id, name, kind FROM orders.supplier ORDER BY id")
        units = await conn.fetch(
            "SELECT external_id, supplier, supplier_id FROM orders.stock_item ORDER BY external_id"
        )
        history = await conn.fetchval("SELECT count(*) FROM orders.stock_history")
    finally:
        await conn.close()
    # One entity per name whatever its case or blanks; the first spelling names it.
    assert [(s["name"], s["kind"]) for s in suppliers] == [
        ("eBay", None),
        ("Nike SNKRS", None),
        ("Zalando", None),
    ]
    ids = {s["name"]: s["id"] for s in suppliers}
    by_unit = {u["external_id"]: u["supplier_id"] for u in units}
    assert by_unit == {
        "m-0": ids["Nike SNKRS"],
        "m-1": ids["Nike SNKRS"],
        "m-2": ids["Zalando"],
        "m-3": ids["Zalando"],
        "m-4": ids["eBay"],
        "m-5": None,  # a blank text names no supplier
    }
    assert history == len(texts)  # the migration wrote no history rows (only the inserts)


async def _json(rest: Rest, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    answer = await rest.call(method, path, **kwargs)
    return answer.status_code, answer.json() if answer.content else None


async def test_supplier_crud_and_the_units_that_name_one(rest: Rest) -> None:
    status, created = await _json(
        rest, "POST", "/api/v1/suppliers", json={"name": "Solebox", "kind": "retail"}
    )
    assert status == 201, created
    assert (created["name"], created["kind"], created["units"]) == ("Solebox", "retail", 0)
    status, body = await _json(rest, "POST", "/api/v1/suppliers", json={"name": " solebox"})
    assert status == 409, body
    assert body["status"] == 409

    # A purchase naming a supplier by text references that entity, in any case.
    purchase = {
        "sku": "DD1391-100",
        "size": "10",
        "size_type": "us m",
        "quantity": 2,
        "unit_cost": {"amount": "100.00", "currency": "EUR"},
        "purchased_at": "2026-01-10T10:00:00Z",
        "supplier": "SOLEBOX",
        "external_id": f"po-{uuid7()}",
    }
    fresh = dict(purchase, supplier="Afew Store", quantity=1, external_id=f"po-{uuid7()}")
    await publish_events(
        rest.service.runtime.publisher,
        [event("inventory.item.purchased", purchase), event("inventory.item.purchased", fresh)],
    )

    async def stock() -> list[dict[str, Any]] | None:
        _, page = await _json(rest, "GET", "/api/v1/stock")
        return page["items"] if len(page["items"]) == 3 else None

    units = await until(stock, 30, what="3 units recorded")
    solebox = [u for u in units if u["supplier_id"] == created["id"]]
    assert len(solebox) == 2
    assert {u["supplier"] for u in solebox} == {"SOLEBOX"}
    _, listed = await _json(rest, "GET", "/api/v1/suppliers")
    afew = next(s for s in listed["items"] if s["name"] == "Afew Store")  # a new name: created
    assert (afew["kind"], afew["units"]) == (None, 1)

    # A rename: the units carry the new name (in their history); a taken name is a 409.
    status, renamed = await _json(
        rest,
        "PATCH",
        f"/api/v1/suppliers/{created['id']}",
        json={"name": "Solebox Berlin", "notes": "raffles"},
    )
    assert status == 200, renamed
    assert (renamed["name"], renamed["notes"], renamed["units"]) == ("Solebox Berlin", "raffles", 2)
    _, unit = await _json(rest, "GET", f"/api/v1/stock/{solebox[0]['id']}")
    assert unit["supplier"] == "Solebox Berlin"
    assert unit["history"][-1]["changes"]["supplier"] == ["SOLEBOX", "Solebox Berlin"]
    status, _ = await _json(
        rest, "PATCH", f"/api/v1/suppliers/{created['id']}", json={"name": "afew store"}
    )
    assert status == 409

    # A unit moved to another supplier by id takes its name; the emptied supplier can go.
    other = solebox[0]["id"]
    for unit_id in (u["id"] for u in solebox):
        status, moved = await _json(
            rest, "PATCH", f"/api/v1/stock/{unit_id}", json={"supplier_id": afew["id"]}
        )
        assert status == 200, moved
        assert (moved["supplier"], moved["supplier_id"]) == ("Afew Store", afew["id"])
    _, page = await _json(rest, "GET", "/api/v1/stock", params={"supplier_id": afew["id"]})
    assert sorted(u["id"] for u in page["items"]) == sorted(u["id"] for u in units)
    async with rest.service.pool.acquire() as conn:  # BI: the unit's supplier entity
        seen = await conn.fetchrow(
            "SELECT supplier, supplier_id, supplier_kind FROM v_inventory WHERE stock_item_id = $1",
            other,
        )
    assert tuple(seen) == ("Afew Store", afew["id"], None)
    status, body = await _json(rest, "DELETE", f"/api/v1/suppliers/{afew['id']}")
    assert status == 409, body
    status, _ = await _json(rest, "DELETE", f"/api/v1/suppliers/{created['id']}")
    assert status == 204
    assert (await rest.call("GET", f"/api/v1/suppliers/{created['id']}")).status_code == 404
    status, body = await _json(rest, "PATCH", f"/api/v1/stock/{other}", json={"supplier_id": 999})
    assert status == 422, body
    assert body["errors"][0]["field"] == "supplier_id"
    csv_text = (await rest.call("GET", "/api/v1/suppliers?format=csv")).text
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [(r["name"], r["units"]) for r in rows] == [("Afew Store", "3")]


BAD_INPUT = [
    ("POST", "/api/v1/suppliers", {"name": "a\u0000b"}, 422, None),
    ("POST", "/api/v1/suppliers", {"name": "   "}, 422, None),
    ("POST", "/api/v1/suppliers", {"name": "x" * 201}, 422, None),
    ("POST", "/api/v1/suppliers", {"name": "x", "kind": "wholesale"}, 422, None),
    ("POST", "/api/v1/suppliers", {"name": "x", "extra": 1}, 422, None),
    ("PATCH", "/api/v1/suppliers/1", {}, 422, None),
    ("PATCH", f"/api/v1/suppliers/{2**63}", {"name": "x"}, 404, None),
    ("GET", f"/api/v1/suppliers/{2**63}", None, 404, None),
    ("GET", "/api/v1/suppliers?limit=501", None, 422, "limit"),
    ("GET", "/api/v1/suppliers?kind=shop", None, 422, "kind"),
    ("GET", "/api/v1/suppliers?cursor=abc", None, 422, "cursor"),
    ("GET", "/api/v1/suppliers?kind=%00", None, 422, None),
    ("GET", "/api/v1/reports/suppliers?currency=EURO", None, 422, "currency"),
    ("GET", "/api/v1/reports/suppliers?from=yesterday", None, 422, "from"),
    ("GET", "/api/v1/reports/suppliers?from=2026-02-01&to=2026-01-01", None, 422, None),
    ("GET", "/api/v1/reports/suppliers?format=xml", None, 422, "format"),
    ("PATCH", "/api/v1/stock/1", {"supplier_id": 2**63}, 422, None),
    ("GET", "/api/v1/stock?supplier_id=0", None, 422, "supplier_id"),
    ("GET", f"/api/v1/stock?supplier_id={2**63}", None, 422, "supplier_id"),
    ("GET", "/api/v1/stock?supplier_id=-1&format=csv", None, 422, "supplier_id"),
    ("PATCH", "/api/v1/stock/1", {"supplier_id": 1, "supplier": "x"}, 422, "supplier_id"),
]


async def test_bad_supplier_input_is_problem_json(rest: Rest) -> None:
    for method, path, body, status, field in BAD_INPUT:
        kwargs = {"json": body} if body is not None else {}
        answer = await rest.call(method, path, **kwargs)
        assert answer.status_code == status, (method, path, body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json"), path
        if field is not None:
            assert any(e["field"] == field for e in answer.json()["errors"]), answer.json()


def _seed_rows(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    units, orders = [], []
    for i in range(300):
        missing = rng.random() < 0.1
        units.append(
            {
                "external_id": f"s-{i}",
                # The text as people type it: the entity is found whatever the case.
                "supplier": rng.choice(SUPPLIERS) if rng.random() < 0.95 else "zalando",
                "currency": rng.choice(("EUR", "EUR", "USD")),
                "purchased_at": NOW
                - timedelta(days=rng.randint(5, 300), minutes=rng.randint(0, 1439)),
                "landed_cost": None if missing else Decimal(rng.randint(4000, 30000)) / 100,
            }
        )
    for i, unit in enumerate(rng.sample(units, 200)):
        status = rng.choice(STATUSES)
        created = unit["purchased_at"] + timedelta(
            days=rng.randint(0, 90), hours=rng.randint(0, 23)
        )
        sale = status not in NO_SALE_STATUSES
        cost = unit["landed_cost"]
        amount = Decimal(rng.randint(80, 400))
        net = (amount * Decimal("0.85")).quantize(Decimal("0.01"))
        orders.append(
            {
                "order_number": f"so-{i:04d}",
                "status": status,
                "created_at": min(created, NOW - timedelta(minutes=1)),
                # Now and then sold in another currency than it was bought in.
                "currency": unit["currency"] if rng.random() < 0.9 else "GBP",
                "amount": amount,
                "landed_cost": cost if sale else None,
                "profit": (net - cost) if sale and cost is not None else None,
                "unit": unit,
            }
        )
    return units, orders


async def _seed(rest: Rest) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    units, orders = _seed_rows(random.Random(1405))
    async with rest.service.pool.acquire() as conn:
        for unit in units:
            unit["id"] = await conn.fetchval(
                """INSERT INTO stock_item (external_id, unit, sku, size, size_type, unit_cost,
                       landed_cost, cost_missing, currency, supplier, purchased_at)
                   VALUES ($1, 1, 'DD1391-100', '10', 'us m', coalesce($2::numeric, 0), $2,
                       $2::numeric IS NULL, $3, $4, $5) RETURNING id""",
                unit["external_id"],
                unit["landed_cost"],
                unit["currency"],
                unit["supplier"],
                unit["purchased_at"],
            )
        for o in orders:
            await conn.execute(
                """INSERT INTO "order" (order_number, status, status_rank, created_at, updated_at,
                       currency, amount, landed_cost, profit, stock_item_id)
                   VALUES ($1, $2, 1, $3, $3, $4, $5, $6, $7, $8)""",
                o["order_number"],
                o["status"],
                o["created_at"],
                o["currency"],
                o["amount"],
                o["landed_cost"],
                o["profit"],
                o["unit"]["id"],
            )
    return units, orders


def _canonical(name: str) -> str:
    return next(s for s in SUPPLIERS if s.lower() == name.lower())


def _expected(
    units: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    start: datetime | None,
    end: datetime | None,
    currency: str | None,
) -> dict[tuple[str, str], dict[str, Any]]:
    def inside(at: datetime) -> bool:
        return (start is None or at >= start) and (end is None or at < end)

    rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {
            "units_bought": 0,
            "spend": Decimal(0),
            "cost_missing": 0,
            "units_sold": 0,
            "revenue": Decimal(0),
            "profit": Decimal(0),
            "sold_landed_cost": Decimal(0),
            "without_profit": 0,
            "days": [],
        }
    )
    for u in units:
        if inside(u["purchased_at"]) and currency in (None, u["currency"]):
            row = rows[(_canonical(u["supplier"]), u["currency"])]
            row["units_bought"] += 1
            if u["landed_cost"] is None:
                row["cost_missing"] += 1
            else:
                row["spend"] += u["landed_cost"]
    for o in orders:
        if o["status"] in NO_SALE_STATUSES or not inside(o["created_at"]):
            continue
        if currency not in (None, o["currency"]):
            continue
        row = rows[(_canonical(o["unit"]["supplier"]), o["currency"])]
        row["units_sold"] += 1
        row["revenue"] += o["amount"]
        if o["profit"] is None:
            row["without_profit"] += 1
        else:
            row["profit"] += o["profit"]
            row["sold_landed_cost"] += o["landed_cost"]
        row["days"].append((o["created_at"].date() - o["unit"]["purchased_at"].date()).days)
    for row in rows.values():
        days = row.pop("days")
        row["avg_days_to_sell"] = (
            (Decimal(sum(days)) / len(days)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            if days
            else None
        )
        cost = row["sold_landed_cost"]
        row["roi"] = (
            (row["profit"] / cost).quantize(Decimal("0.0001"), ROUND_HALF_UP) if cost else None
        )
    return dict(rows)


def _got(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    money = ("spend", "revenue", "profit", "sold_landed_cost", "roi", "avg_days_to_sell")
    found = {}
    for r in rows:
        values = {
            k: v for k, v in r.items() if k not in ("supplier_id", "name", "kind", "currency")
        }
        for key in money:
            values[key] = None if values[key] in (None, "") else Decimal(str(values[key]))
        for key in ("units_bought", "cost_missing", "units_sold", "without_profit"):
            values[key] = int(values[key])
        found[(r["name"], r["currency"])] = values
    return found


#: (days before now of `from`, of `to`; None: open) and the currency filter.
WINDOWS = [((None, None), None), ((200, 40), "EUR"), ((120, None), "USD"), ((None, 60), None)]


async def test_supplier_stats_match_an_independent_computation(rest: Rest) -> None:
    units, orders = await _seed(rest)
    for window, currency in WINDOWS:
        await _check_stats(rest, units, orders, window, currency)


async def _check_stats(
    rest: Rest,
    units: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    window: tuple[int | None, int | None],
    currency: str | None,
) -> None:
    start = NOW - timedelta(days=window[0]) if window[0] is not None else None
    end = NOW - timedelta(days=window[1]) if window[1] is not None else None
    params = {k: v.isoformat() for k, v in (("from", start), ("to", end)) if v is not None}
    if currency:
        params["currency"] = currency
    expected = _expected(units, orders, start, end, currency)
    assert expected  # the window holds data

    status, body = await _json(rest, "GET", "/api/v1/reports/suppliers", params=params)
    assert status == 200, body
    assert _got(body["rows"]) == expected
    assert {r["kind"] for r in body["rows"]} == {None}  # created from text, kind not said yet

    answer = await rest.call("GET", "/api/v1/reports/suppliers", params={**params, "format": "csv"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert _got(list(csv.DictReader(io.StringIO(answer.text)))) == expected


def _expected_by_supplier(
    orders: list[dict[str, Any]], start: datetime, end: datetime
) -> dict[str, tuple[int, Decimal, Decimal, int]]:
    """Sales by supplier entity: (sales, revenue, profit, cancellations) per canonical name."""
    rows: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0), 0])
    for o in orders:
        if not start <= o["created_at"] < end or o["currency"] != "EUR":
            continue
        row = rows[_canonical(o["unit"]["supplier"])]
        if o["status"] in NO_SALE_STATUSES:
            row[3] += 1
            continue
        row[0] += 1
        row[1] += o["amount"]
        row[2] += o["profit"] or 0
    return {k: (v[0], v[1], v[2], v[3]) for k, v in rows.items()}


async def _check_sales_by_supplier(rest: Rest, orders: list[dict[str, Any]]) -> None:
    start, end = NOW - timedelta(days=250), NOW
    params = {"from": start.isoformat(), "to": end.isoformat(), "currency": "EUR"}
    status, body = await _json(
        rest, "GET", "/api/v1/reports/sales", params={**params, "group_by": "supplier"}
    )
    assert status == 200, body
    got = {
        r["key"]: (r["sales"], Decimal(r["revenue"]), Decimal(r["profit"]), r["cancellations"])
        for r in body["rows"]
    }
    assert got == _expected_by_supplier(orders, start, end)


async def test_sales_by_supplier_group_on_the_entity_whatever_the_typed_case(rest: Rest) -> None:
    units, orders = await _seed(rest)
    assert any(u["supplier"] == "zalando" for u in units)  # typed in another case
    await _check_sales_by_supplier(rest, orders)


async def test_supplier_stats_follow_later_changes_of_units_and_orders(rest: Rest) -> None:
    """The summary behind the stats is kept by the write path: a unit moved to another
    supplier, a corrected cost, a cancelled or deleted sale, a new purchase all show."""
    units, orders = await _seed(rest)
    rng = random.Random(2718)
    async with rest.service.pool.acquire() as conn:
        ebay = await conn.fetchval("SELECT id FROM supplier WHERE name = 'eBay'")
        for u in rng.sample(units, 40):
            u["supplier"] = "eBay"
            await conn.execute(
                "UPDATE stock_item SET supplier_id = $2 WHERE id = $1", u["id"], ebay
            )
        for u in rng.sample(units, 30):
            u["landed_cost"] = Decimal("123.45")
            await conn.execute(
                """UPDATE stock_item SET landed_cost = 123.45, cost_missing = false,
                       purchased_at = purchased_at - interval '2 days' WHERE id = $1""",
                u["id"],
            )
            u["purchased_at"] -= timedelta(days=2)
        for o in rng.sample(orders, 25):
            o["status"] = "CANCELED"
            o["landed_cost"] = o["profit"] = None
            await conn.execute(
                """UPDATE "order" SET status = 'CANCELED', landed_cost = NULL, profit = NULL
                   WHERE order_number = $1""",
                o["order_number"],
            )
        gone = orders.pop(3)
        await conn.execute('DELETE FROM "order" WHERE order_number = $1', gone["order_number"])
        fresh = {
            "external_id": "s-new",
            "supplier": "ZALANDO",
            "currency": "EUR",
            "purchased_at": NOW - timedelta(days=1, hours=3),
            "landed_cost": Decimal("99.99"),
        }
        fresh["id"] = await conn.fetchval(
            """INSERT INTO stock_item (external_id, unit, sku, size, size_type, unit_cost,
                   landed_cost, currency, supplier, purchased_at)
               VALUES ($1, 1, 'DD1391-100', '10', 'us m', 90, $2, 'EUR', $3, $4) RETURNING id""",
            fresh["external_id"],
            fresh["landed_cost"],
            fresh["supplier"],
            fresh["purchased_at"],
        )
        units.append(fresh)
    for window, currency in [*WINDOWS, ((3, None), "EUR")]:
        await _check_stats(rest, units, orders, window, currency)
    await _check_sales_by_supplier(rest, orders)
