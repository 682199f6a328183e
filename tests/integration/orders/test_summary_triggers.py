"""The summary triggers (migrations 0014-0022) against real Postgres, under bulk statements: an
UPDATE of hundreds of units and orders at once (keys swapped between rows, rows changed, rows
only touched) leaves every summary as inserting the final rows from scratch does, and deleting
every row leaves nothing behind. Migration 0022 made the triggers' change detection set-based
(EXCEPT instead of a transition-table join that Postgres ran as a nested loop); migration 0023
made an order's step between two sale statuses leave its sales fact alone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg

from tests.integration.orders.support import migrate_orders

SUMMARIES = (
    "sales_fact",
    "sales_summary",
    "stock_summary",
    "held_by_variant",
    "supplier_summary",
    "held_summary",
)
UNITS = 240
ORDERS = 180
INSERT_UNITS = """
INSERT INTO stock_item (external_id, unit, sku, size, size_type, variant_id, unit_cost, currency,
                        supplier, supplier_id, purchased_at, status, landed_cost)
SELECT 'u' || i, 1, 'SKU-' || (i % 3), (8 + i % 5)::text, 'us m', 'v' || (i % 3),
       100 + i % 2 * 10, ('{EUR,USD}'::text[])[1 + i % 2],
       CASE WHEN i % 3 = 0 THEN 'Alpha' ELSE 'Beta' END,
       (SELECT id FROM supplier WHERE name = CASE WHEN i % 3 = 0 THEN 'Alpha' ELSE 'Beta' END),
       timestamptz '2026-01-01' + (i % 5) * interval '1 day',
       ('{IN_STOCK,LISTED,SOLD}'::text[])[1 + i % 3], 105 + i % 2 * 10
FROM generate_series(1, $1) AS i
"""
INSERT_ORDERS = """
INSERT INTO "order" (order_number, status, status_rank, stock_item_id, variant_id, product_id,
                     amount, currency, net_proceeds, landed_cost, profit, created_at, updated_at)
SELECT 'o' || i, ('{COMPLETED,CANCELED,CREATED}'::text[])[1 + i % 3], 1,
       (SELECT id FROM stock_item WHERE external_id = 'u' || i), 'v' || (i % 11), 'p' || (i % 4),
       200 + i % 17, ('{EUR,USD}'::text[])[1 + i % 2], 180 + i % 17, 105, 75 + i % 17,
       timestamptz '2026-02-01' + i * interval '5 hours',
       timestamptz '2026-02-01' + i * interval '5 hours'
FROM generate_series(1, $1) AS i
"""
# One statement each, so each trigger sees hundreds of rows: units swap suppliers (Alpha and
# Beta trade places), a third change status, some move size or cost, the rest are only touched;
# orders each change one figure (or their unit) by the last digit of their number, or none.
# Units share purchase days, so many are alike: a summary's deltas hold duplicates.
UPDATE_UNITS = """
UPDATE stock_item SET
    supplier = CASE supplier WHEN 'Alpha' THEN 'Beta' ELSE 'Alpha' END,
    supplier_id = (SELECT id FROM supplier
                   WHERE name = CASE stock_item.supplier WHEN 'Alpha' THEN 'Beta' ELSE 'Alpha' END),
    status = CASE WHEN id % 3 = 0 THEN 'LISTED' WHEN id % 3 = 1 THEN 'IN_STOCK' ELSE status END,
    size = CASE WHEN id % 4 = 0 THEN '12' ELSE size END,
    landed_cost = CASE WHEN id % 5 = 0 THEN landed_cost + 1 ELSE landed_cost END,
    updated_at = now()
"""
UPDATE_ORDERS = """
UPDATE "order" SET
    status = CASE WHEN order_number LIKE '%1' THEN 'CANCELED' ELSE status END,
    amount = CASE WHEN order_number LIKE '%3' THEN amount + 3 ELSE amount END,
    profit = CASE WHEN order_number LIKE '%5' THEN profit + 3 ELSE profit END,
    stock_item_id = CASE WHEN order_number LIKE '%7' THEN NULL ELSE stock_item_id END,
    updated_at = updated_at + interval '1 hour'
"""

# Sale statuses move on (no figure of a fact changes), a few sales fall through.
STEP_ORDERS = """
UPDATE "order" SET
    status = CASE WHEN order_number LIKE '%2' THEN 'CANCELED'
                  WHEN status = 'CREATED' THEN 'SHIPPED'
                  WHEN status = 'COMPLETED' THEN 'PAYOUTCOMPLETED' ELSE status END,
    updated_at = updated_at + interval '1 hour'
"""
FACT_VERSIONS = "SELECT order_number, xmin::text AS version FROM sales_fact"


async def _connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, server_settings={"search_path": "orders"})


def _figures(row: asyncpg.Record) -> list[Any]:
    """A summary row's counts and sums (its numbers that are not an id)."""
    return [
        v
        for k, v in row.items()
        if isinstance(v, int | Decimal) and not isinstance(v, bool) and not k.endswith("_id")
    ]


Summaries = dict[str, list[tuple[Any, ...]]]


async def _summaries(conn: asyncpg.Connection) -> Summaries:
    """Every summary's rows, those whose figures are all zero left out (a group emptied by a
    delta keeps its row), in a stable order."""
    found = {}
    for table in SUMMARIES:
        rows = await conn.fetch(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
        kept = [r for r in rows if any(v != 0 for v in _figures(r))]
        found[table] = sorted(tuple(map(str, r.values())) for r in kept)
    return found


async def _insert_all(conn: asyncpg.Connection, table: str, source: str) -> None:
    """Insert `source`'s rows into `table`, its generated columns left to Postgres."""
    columns = await conn.fetchval(
        "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)"
        " FROM information_schema.columns"
        " WHERE table_schema = 'orders' AND table_name = $1 AND is_generated = 'NEVER'",
        table,
    )
    await conn.execute(
        f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM {source}'  # noqa: S608
    )


async def _seeded(dsn: str) -> asyncpg.Connection:
    """A connection to a migrated orders schema holding the units and orders above."""
    await migrate_orders(dsn)
    conn = await _connect(dsn)
    await conn.execute("INSERT INTO supplier (name) VALUES ('Alpha'), ('Beta')")
    await conn.execute(INSERT_UNITS, UNITS)
    await conn.execute(INSERT_ORDERS, ORDERS)
    return conn


async def _rebuild(conn: asyncpg.Connection) -> tuple[Summaries, Summaries]:
    """The summaries once every unit and order is deleted, and once they are inserted again."""
    await conn.execute("CREATE TEMP TABLE units AS SELECT * FROM stock_item")
    await conn.execute('CREATE TEMP TABLE orders_kept AS SELECT * FROM "order"')
    await conn.execute('DELETE FROM "order"')
    await conn.execute("DELETE FROM stock_item")
    emptied = await _summaries(conn)
    await _insert_all(conn, "stock_item", "units")
    await _insert_all(conn, "order", "orders_kept")
    return emptied, await _summaries(conn)


async def test_bulk_updates_keep_every_summary_as_a_rebuild_from_the_rows(
    fresh_database: str,
) -> None:
    conn = await _seeded(fresh_database)
    try:
        before = await _summaries(conn)
        assert all(before[table] for table in SUMMARIES), "every summary has rows to change"

        assert (await conn.execute(UPDATE_UNITS)).endswith(f" {UNITS}")
        assert (await conn.execute(UPDATE_ORDERS)).endswith(f" {ORDERS}")
        after = await _summaries(conn)
        assert after != before

        emptied, rebuilt = await _rebuild(conn)
        assert emptied == {table: [] for table in SUMMARIES}
        assert rebuilt == after
    finally:
        await conn.close()


async def test_a_step_between_sale_statuses_leaves_the_sales_fact_alone(
    fresh_database: str,
) -> None:
    conn = await _seeded(fresh_database)
    try:
        before = dict(await conn.fetch(FACT_VERSIONS))
        statuses = dict(await conn.fetch('SELECT order_number, status FROM "order"'))
        # Only a sale that fell through changes its fact; a status step changes none.
        falling = {n for n in before if n.endswith("2") and statuses[n] != "CANCELED"}
        assert falling
        assert len(falling) < len(before)

        assert (await conn.execute(STEP_ORDERS)).endswith(f" {ORDERS}")
        after = dict(await conn.fetch(FACT_VERSIONS))
        assert {n for n in before if after[n] != before[n]} == falling
        stepped = await _summaries(conn)
        assert (await _rebuild(conn))[1] == stepped
    finally:
        await conn.close()
