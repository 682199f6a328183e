"""The BI surface against a real Postgres: `soleflip migrate all` leaves a role
`soleflip_analytics` that reads each schema's documented `v_*` views and nothing else.

Rows are seeded as the admin into the base tables; what the views show is compared with values
the test derives itself from what it wrote.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import asyncpg
import pytest

from soleflip.common.db import ANALYTICS_ROLE, migrate
from soleflip.common.testing.db import dsn_as

SCHEMAS = ("catalog", "orders", "pricing")
VIEWS = {
    "catalog.v_products",
    "catalog.v_variants",
    "orders.v_inventory",
    "orders.v_listings",
    "orders.v_sales",
    "pricing.v_market_history",
    "pricing.v_market_latest",
}
LIBRARY_TABLES = {"inbox", "outbox", "poll_state", "leader", "schema_migrations"}
PURCHASED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SOLD = datetime(2026, 4, 15, 23, 59, tzinfo=UTC)
RELATIONS_SQL = """
SELECT n.nspname || '.' || c.relname AS name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'v', 'm', 'p', 'S')
"""


@pytest.fixture
async def admin(fresh_database: str) -> AsyncIterator[asyncpg.Connection]:
    for service in SCHEMAS:
        migrations = importlib.resources.files(f"soleflip.{service}").joinpath("migrations")
        await migrate(fresh_database, service, migrations)
    conn = await asyncpg.connect(fresh_database)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def analyst(
    admin: asyncpg.Connection, fresh_database: str
) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(dsn_as(fresh_database, ANALYTICS_ROLE))
    try:
        yield conn
    finally:
        await conn.close()


async def _seed_orders(admin: asyncpg.Connection) -> int:
    stock_id: int = await admin.fetchval(
        """INSERT INTO orders.stock_item (external_id, unit, sku, size, size_type, variant_id,
               unit_cost, inbound_cost, other_cost, vat_amount, vat_rate_pct, landed_cost,
               currency, supplier, purchased_at, status, listing_id, order_number)
           VALUES ('p-1', 1, 'DD1391-100', '10', 'us m', 'var-1', 119.00, 5.00, 2.00, 19.00,
               19.00, 126.00, 'EUR', 'Nike SNKRS', $1, 'SOLD', 'l-1', 'o-1')
           RETURNING id""",
        PURCHASED,
    )
    await admin.execute(
        """INSERT INTO orders.listing (listing_id, status, status_rank, variant_id, product_id,
               stock_item_id, amount, currency, updated_at)
           VALUES ('l-1', 'COMPLETED', 5, 'var-1', 'prod-1', $1, 200, 'EUR', $2)""",
        stock_id,
        SOLD,
    )
    await admin.execute(
        """INSERT INTO orders."order" (order_number, status, status_rank, listing_id,
               stock_item_id, variant_id, product_id, amount, currency, net_proceeds,
               landed_cost, profit, roi, created_at, updated_at)
           VALUES ('o-1', 'COMPLETED', 9, 'l-1', $1, 'var-1', 'prod-1', 200, 'EUR', 166.00,
               126.00, 40.00, 0.3175, $2, $2)""",
        stock_id,
        SOLD,
    )
    return stock_id


async def _seed_catalog_and_pricing(admin: asyncpg.Connection) -> None:
    product = uuid4()
    await admin.execute(
        """INSERT INTO catalog.product (id, stockx_product_id, style_id, title, brand, colorway)
           VALUES ($1, 'prod-1', 'DD1391-100', 'Nike Dunk Low Panda', 'Nike', 'White/Black')""",
        product,
    )
    await admin.execute(
        """INSERT INTO catalog.variant (id, stockx_variant_id, product_id, variant_value,
               default_size_type) VALUES ($1, 'var-1', $2, '10', 'us m')""",
        uuid4(),
        product,
    )
    await admin.execute(
        """INSERT INTO pricing.market_latest (variant_id, currency, product_id, lowest_ask,
               highest_bid, observed_at, changed_at)
           VALUES ('var-1', 'EUR', 'prod-1', 210, 180, $1, $1)""",
        SOLD,
    )


async def test_analytics_role_reads_every_documented_view(
    admin: asyncpg.Connection, analyst: asyncpg.Connection
) -> None:
    stock_id = await _seed_orders(admin)
    await _seed_catalog_and_pricing(admin)

    unit = await analyst.fetchrow("SELECT * FROM orders.v_inventory")
    assert unit["stock_item_id"] == stock_id
    assert unit["landed_cost"] == Decimal("126.00")
    assert (unit["inbound_shipping"], unit["other_costs"]) == (Decimal("5.00"), Decimal("2.00"))
    assert unit["age_days"] == (datetime.now(UTC).date() - PURCHASED.date()).days
    sale = await analyst.fetchrow("SELECT * FROM orders.v_sales")
    assert (sale["order_number"], sale["sku"], sale["supplier"]) == (
        "o-1",
        "DD1391-100",
        "Nike SNKRS",
    )
    assert sale["profit"] == sale["net_proceeds"] - unit["landed_cost"]
    assert sale["days_to_sell"] == (date(2026, 4, 15) - date(2026, 3, 1)).days
    listing = await analyst.fetchrow("SELECT * FROM orders.v_listings")
    assert (listing["listing_id"], listing["amount"]) == ("l-1", Decimal("200.00"))
    market = await analyst.fetchrow("SELECT * FROM pricing.v_market_latest")
    assert (market["lowest_ask"], market["highest_bid"]) == (Decimal("210.00"), Decimal("180.00"))
    product = await analyst.fetchrow("SELECT * FROM catalog.v_products")
    assert (product["style_id"], product["brand"]) == ("DD1391-100", "Nike")
    variant = await analyst.fetchrow("SELECT * FROM catalog.v_variants")
    assert (variant["stockx_product_id"], variant["size"]) == ("prod-1", "10")
    assert await analyst.fetchval("SELECT count(*) FROM pricing.v_market_history") == 0


async def test_analytics_role_may_select_exactly_the_views(
    admin: asyncpg.Connection, analyst: asyncpg.Connection
) -> None:
    relations = {r["name"] for r in await admin.fetch(RELATIONS_SQL, list(SCHEMAS))}
    assert relations >= VIEWS
    for schema in SCHEMAS:
        assert {f"{schema}.{t}" for t in LIBRARY_TABLES} <= relations
    readable = {
        name
        for name in relations
        if await admin.fetchval(
            "SELECT has_table_privilege($1, $2, 'SELECT')", ANALYTICS_ROLE, name
        )
    }
    assert readable == VIEWS
    for name in sorted(relations - VIEWS):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await analyst.fetch(f"SELECT * FROM {name} LIMIT 1")  # noqa: S608 (catalog names)


WRITES = [
    "INSERT INTO orders.v_listings (listing_id, status) VALUES ('x', 'ACTIVE')",
    "UPDATE orders.v_inventory SET supplier = 'x'",
    "DELETE FROM orders.v_inventory",
    "UPDATE catalog.v_products SET title = 'x'",
    "DELETE FROM pricing.v_market_latest",
    "INSERT INTO orders.outbox (subject, payload) VALUES ('x', '{}')",
    "TRUNCATE orders.stock_item",
    "CREATE TABLE orders.t (id int)",
    "CREATE TABLE public.t (id int)",
    "CREATE VIEW catalog.v_x AS SELECT 1",
    "DROP VIEW orders.v_sales",
]


async def test_analytics_role_cannot_write_even_with_read_only_off(
    analyst: asyncpg.Connection,
) -> None:
    assert await analyst.fetchval("SHOW default_transaction_read_only") == "on"
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        await analyst.execute("CREATE TEMP TABLE t (id int)")
    # Read-only is only the role's default, which a session may turn off: its privileges are
    # what stops a write.
    await analyst.execute("SET default_transaction_read_only = off")
    for statement in WRITES:
        # A view that joins (orders' readable columns) is not updatable at all, which
        # Postgres says before it checks the privilege; either way the write is refused.
        with pytest.raises(
            (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectNotInPrerequisiteStateError)
        ):
            await analyst.execute(statement)
