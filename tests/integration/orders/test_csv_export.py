"""CSV exports of the orders, listings and stock lists against real Postgres and NATS: every page
(more rows than one export chunk), the same filters as JSON, money as plain decimals.

The expected rows are computed here from the seeded data (filter, sort, format in Python), not
by the service's SQL.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from soleflip.common.http import CellKind, csv_lines, keyset_chunks, sql_cell
from tests.integration.orders.conftest import Rest

BASE = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = ("CREATED", "SHIPPED", "COMPLETED", "CANCELED")
N_ORDERS, N_STOCK, N_LISTINGS = 4_500, 2_300, 2_100  # > one export chunk (2,000) each


def _z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _cents(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(100, 99_999_99)) / 100


def _parse(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv"), response.text[:300]
    assert response.headers.get("transfer-encoding") == "chunked"  # streamed, no length known
    return list(csv.DictReader(io.StringIO(response.text)))


async def _seed_orders(rest: Rest) -> list[dict[str, Any]]:
    rng = random.Random(14)
    orders = []
    for i in range(N_ORDERS):
        # Many share a timestamp: the cursor must break ties by order number.
        created = BASE + timedelta(minutes=rng.randint(0, 2_000))
        amount = _cents(rng)
        net = (amount * Decimal("0.8")).quantize(Decimal("0.01"))
        linked = rng.random() < 0.7
        orders.append(
            {
                "order_number": f"{i % 97:02d}-{i:06d}",
                "status": rng.choice(STATUSES),
                "created_at": created,
                "currency": rng.choice(("EUR", "USD", "GBP")),
                "amount": amount,
                "net_proceeds": net,
                "stock_item_id": i + 1 if linked else None,
                "profit": (net - Decimal("50.00")) if linked else None,
            }
        )
    async with rest.service.pool.acquire() as conn:
        # One COPY, not a statement per row: the report summaries' statement triggers then run
        # once (4,500 single-row statements could exceed the command timeout on a loaded box).
        await conn.copy_records_to_table(
            "order",
            columns=["order_number", "status", "status_rank", "created_at", "updated_at",
                     "currency", "amount", "net_proceeds", "stock_item_id", "profit"],
            records=[(o["order_number"], o["status"], 1, o["created_at"], o["created_at"],
                      o["currency"], o["amount"], o["net_proceeds"], o["stock_item_id"],
                      o["profit"]) for o in orders],
        )  # fmt: skip
    return orders


async def test_orders_csv_has_every_filtered_row_in_page_order(rest: Rest) -> None:
    orders = await _seed_orders(rest)
    since, until = BASE + timedelta(minutes=100), BASE + timedelta(minutes=1_900)
    query = f"status=COMPLETED,SHIPPED,created&since={_z(since)}&until={_z(until)}&format=csv"
    rows = _parse(await rest.call("GET", f"/api/v1/orders?{query}"))

    expected = sorted(
        (o for o in orders if o["status"] != "CANCELED" and since <= o["created_at"] < until),
        key=lambda o: (o["created_at"], o["order_number"]),
        reverse=True,
    )
    assert len(expected) > 2_000
    assert [r["order_number"] for r in rows] == [o["order_number"] for o in expected]
    for row, order in zip(rows, expected, strict=True):
        assert row["created_at"] == _z(order["created_at"])
        assert (row["currency"], row["amount"]) == (order["currency"], f"{order['amount']:.2f}")
        assert row["net_proceeds"] == f"{order['net_proceeds']:.2f}"
        assert row["profit"] == ("" if order["profit"] is None else f"{order['profit']:.2f}")


async def test_accept_text_csv_selects_csv_and_unmatched_filters_like_json(rest: Rest) -> None:
    orders = await _seed_orders(rest)
    response = await rest.call(
        "GET", "/api/v1/orders?unmatched=true", headers={"Accept": "text/csv"}
    )
    rows = _parse(response)
    assert {r["order_number"] for r in rows} == {
        o["order_number"] for o in orders if o["stock_item_id"] is None
    }
    assert {r["stock_item_id"] for r in rows} == {""}
    json_page = await rest.call("GET", "/api/v1/orders?unmatched=true&limit=5")
    assert json_page.headers["content-type"].startswith("application/json")
    assert [o["order_number"] for o in json_page.json()["items"]] == [
        r["order_number"] for r in rows[:5]
    ]


async def test_stock_csv_filters_and_neutralises_formulas(rest: Rest) -> None:
    rng = random.Random(7)
    suppliers = ("Nike SNKRS", '=HYPERLINK("http://x")', "Zalando")
    units = [
        (
            f"p-{i}",
            1,
            "DD1391-100",
            str(rng.randint(6, 13)),
            "us m",
            _cents(rng),
            rng.choice(suppliers),
            BASE + timedelta(hours=i),
            rng.choice(("IN_STOCK", "LISTED", "SOLD")),
        )
        for i in range(N_STOCK)
    ]
    async with rest.service.pool.acquire() as conn:
        await conn.copy_records_to_table(
            "stock_item",
            columns=["external_id", "unit", "sku", "size", "size_type", "unit_cost",
                     "landed_cost", "currency", "supplier", "purchased_at", "status"],
            records=[(*u[:6], u[5], "EUR", *u[6:]) for u in units],
        )  # fmt: skip
        ids = {
            r["external_id"]: r["id"]
            for r in await conn.fetch("SELECT id, external_id FROM stock_item")
        }
    supplier = suppliers[1]
    response = await rest.call(
        "GET",
        "/api/v1/stock",
        params={"status": "IN_STOCK,LISTED", "supplier": supplier, "format": "csv"},
    )
    rows = _parse(response)
    expected = sorted(
        (u for u in units if u[8] in ("IN_STOCK", "LISTED") and u[6] == supplier),
        key=lambda u: ids[u[0]],
    )
    assert [int(r["id"]) for r in rows] == [ids[u[0]] for u in expected]
    assert {r["supplier"] for r in rows} == {"'" + supplier}
    for row, unit in zip(rows, expected, strict=True):
        assert (row["currency"], row["unit_cost"], row["landed_cost"]) == (
            "EUR",
            f"{unit[5]:.2f}",
            f"{unit[5]:.2f}",
        )
        assert row["purchased_at"] == _z(unit[7])


async def test_listings_csv_streams_every_page(rest: Rest) -> None:
    rng = random.Random(3)
    listings = [
        (f"l-{i:05d}", rng.choice(("ACTIVE", "INACTIVE")), Decimal(rng.randint(50, 900)), BASE)
        for i in range(N_LISTINGS)
    ]
    async with rest.service.pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO listing (listing_id, status, status_rank, amount, currency, updated_at)
               VALUES ($1, $2, 1, $3, 'USD', $4)""",
            listings,
        )
    rows = _parse(await rest.call("GET", "/api/v1/listings?status=ACTIVE&format=csv"))
    expected = sorted(item for item in listings if item[1] == "ACTIVE")
    assert [(r["listing_id"], r["amount"]) for r in rows] == [
        (item[0], f"{item[2]:.2f}") for item in expected
    ]


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/listings", "/api/v1/stock"])
async def test_an_unknown_format_or_bad_filter_is_problem_json(rest: Rest, path: str) -> None:
    response = await rest.call("GET", f"{path}?format=xml")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "format"
    bad = await rest.call("GET", f"{path}?status=A;B&format=csv")
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_keyset_chunks_reads_until_a_short_page() -> None:
    data = list(range(10))
    calls: list[tuple[int | None, int]] = []

    async def fetch(after: int | None, limit: int) -> list[int]:
        calls.append((after, limit))
        return [x for x in data if after is None or x > after][:limit]

    pages = [list(p) async for p in keyset_chunks(fetch, lambda x: x, size=5)]
    assert pages == [data[:5], data[5:]]
    assert calls == [(None, 5), (4, 5), (9, 5)]


CELLS: list[tuple[str, CellKind, Any]] = [
    ("timestamptz", "time", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)),
    ("timestamptz", "time", datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC)),
    ("timestamptz", "time", datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ("numeric", "number", Decimal("1234.50")),
    ("numeric", "number", Decimal("-0.0001")),
    ("numeric", "number", Decimal("100")),
    ("bigint", "number", 9_007_199_254_740_993),
    ("boolean", "bool", True),
    ("boolean", "bool", False),
    ("text", "text", "plain"),
    ("text", "text", 'a, "quoted"\nline'),
    ("text", "text", "=SUM(A1)"),
    ("text", "text", "-5"),
    ("text", "text", "+x"),
    ("text", "text", "@x"),
    ("text", "text", "\tx"),
    ("text", "text", "\rx"),
    ("text", "text", ""),
    ("text", "text", "Ünïcødé ✓"),
    ("text", "number", None),
    ("text", "text", None),
    ("timestamptz", "time", None),
    ("boolean", "bool", None),
]


async def test_postgres_renders_each_cell_as_csv_cell_does(rest: Rest) -> None:
    """The list exports' lines come from COPY: each kind of cell reads back as the Python
    renderer (`csv_cell` through `csv_lines`) writes it."""
    select = ", ".join(
        sql_cell(f"${i}::{pg_type}", kind) for i, (pg_type, kind, _) in enumerate(CELLS, 1)
    )
    chunks: list[bytes] = []

    async def output(chunk: bytes) -> None:
        chunks.append(chunk)

    async with rest.service.pool.acquire() as conn:
        await conn.copy_from_query(
            f"SELECT {select}", *[v for *_, v in CELLS], output=output, format="csv"
        )
    ours = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    python_line = csv_lines([[v for *_, v in CELLS]])
    python = list(csv.reader(io.StringIO(python_line.decode())))
    assert ours == python
    for line in (b"".join(chunks), python_line):  # one line ending for every export: LF
        assert line.endswith(b"\n")
        assert not line.endswith(b"\r\n")
    assert ours[0][:3] == ["2026-03-04T05:06:07Z", "2026-03-04T05:06:07.000890Z",
                           "1999-12-31T23:59:59.999999Z"]  # fmt: skip
