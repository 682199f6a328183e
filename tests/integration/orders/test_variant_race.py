"""A purchase and its product's catalog event committed at the same moment (real Postgres).

Under READ COMMITTED each transaction would miss the other's uncommitted row and the unit would
stay pending until the next retry; the style-key locks make the second one wait and see it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import msgspec
import pytest

from soleflip.common.contracts.catalog import ProductData, SizeData, VariantData
from soleflip.common.contracts.ingest import ItemPurchase
from soleflip.common.db import create_pool
from soleflip.orders.handlers import apply_product, record_purchases
from tests.support.wait import until

PRODUCT = ProductData(
    product_id="p-1",
    stockx_product_id="sx-p-1",
    title="Dunk Low Panda",
    style_id="DD1391-100",
    variants=[
        VariantData(
            variant_id="v-1",
            stockx_variant_id="sx-v-1",
            variant_value="10",
            default_size_type="us m",
            sizes=[SizeData(type="us m", value="10")],
        )
    ],
)
PURCHASE = msgspec.convert(
    {
        "sku": "dd1391-100",
        "size": "10",
        "size_type": "us m",
        "quantity": 1,
        "unit_cost": {"amount": "110.00", "currency": "EUR"},
        "purchased_at": "2026-01-10T10:00:00Z",
        "supplier": "Nike SNKRS",
        "external_id": "po-race",
    },
    ItemPurchase,
)

Step = Callable[[asyncpg.Connection], Awaitable[object]]


async def purchase(conn: asyncpg.Connection) -> object:
    return await record_purchases([PURCHASE], conn=conn, source="test")


async def product(conn: asyncpg.Connection) -> object:
    await apply_product(PRODUCT, conn=conn, source="test")
    return None


@pytest.fixture
async def pool(orders_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(orders_dsn, schema="orders", min_size=2, max_size=3)
    yield pool
    await pool.close()


async def waiting_or_done(pool: asyncpg.Pool, second: asyncio.Task[object], pid: int) -> bool:
    if second.done():
        return True
    async with pool.acquire() as conn:
        event = await conn.fetchval(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
        )
    return event == "Lock"


@pytest.mark.parametrize(("first", "then"), [(product, purchase), (purchase, product)])
async def test_the_later_of_a_purchase_and_its_product_sees_the_other(
    pool: asyncpg.Pool, first: Step, then: Step
) -> None:
    async with pool.acquire() as one, pool.acquire() as two:
        pid = two.get_server_pid()
        tx = one.transaction()
        await tx.start()
        await first(one)  # not committed yet

        async def second() -> object:
            async with two.transaction():
                return await then(two)

        task = asyncio.create_task(second())
        # The second transaction has matched already (the bug) or waits for the first's lock.
        await until(lambda: waiting_or_done(pool, task, pid), 10, what="the second at its match")
        await tx.commit()
        await task
        unit = await one.fetchrow(
            "SELECT variant_id, variant_status FROM stock_item WHERE external_id = 'po-race'"
        )
    assert (unit["variant_status"], unit["variant_id"]) == ("resolved", "sx-v-1")
