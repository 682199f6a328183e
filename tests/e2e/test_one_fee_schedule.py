# ruff: noqa: F811 - a fixture is imported into this module, then requested by name
"""One fee schedule: a seller-level change through pricing's API moves both a pricing quote and
the estimate of an unpaid sale in orders (pricing publishes `pricing.fees.updated`, orders'
`orders-fees` consumer keeps the copy and re-estimates). Real Postgres and NATS; pricing served
over ASGI, orders as its runtime with all its consumers; the sale arrives the way a relay sends a
StockX list item without a payout breakdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from importlib.resources import files
from typing import Any

import httpx
import msgspec
import pytest

from soleflip.common.bus import Names
from soleflip.common.crypto import Crypto
from soleflip.common.db import migrate
from soleflip.orders.service import OrdersService
from soleflip.orders.settings import OrdersSettings
from soleflip.pricing.app import create_app as create_pricing_app
from tests.integration.orders.support import (
    event,
    migrate_orders,
    order_resource,
    publish_events,
    run_service,
)
from tests.integration.pricing.conftest import (
    AUTH,
    Clock,
    make_settings,
    pricing_settings,
    streams_cleanup,  # noqa: F401 - a fixture
)
from tests.support.wait import until

ORDER_SQL = 'SELECT transaction_fee, net_proceeds, fees_source FROM "order" WHERE order_number = $1'
PAYOUT = {
    "totalPayout": "80.00",
    "salePrice": "102",
    "totalAdjustments": "-22.00",
    "currencyCode": "EUR",
    "adjustments": [{"adjustmentType": "Transaction Fee", "amount": "-8.94", "percentage": 0}],
}


class System:
    """Pricing's HTTP client and the orders runtime of one test."""

    def __init__(self, pricing: httpx.AsyncClient, orders: OrdersService) -> None:
        self.pricing, self.orders = pricing, orders

    async def order(self, number: str) -> tuple[Any, ...] | None:
        row = await self.orders.pool.fetchrow(ORDER_SQL, number)
        return None if row is None else tuple(row)

    async def floor(self, currency: str = "EUR") -> str:
        body = {"variant_id": "v1", "cost": {"amount": "80", "currency": currency}}
        answer = await self.pricing.post("/api/v1/quote", json=body, headers=AUTH)
        assert answer.status_code == 200, answer.text
        floor: str = answer.json()["floor"]["amount"]
        return floor


@pytest.fixture
async def system(
    fresh_database: str, nats_url: str, names: Names, streams_cleanup: None
) -> AsyncIterator[System]:
    await migrate_orders(fresh_database)
    await migrate(fresh_database, "pricing", files("soleflip.pricing").joinpath("migrations"))
    settings = msgspec.structs.replace(
        make_settings(fresh_database, nats_url, names),
        stockx_api_url="http://127.0.0.1:9/v2",  # orders does not poll here
        fernet_keys=(Crypto.generate_key(),),
    )
    app = create_pricing_app(settings, pricing_settings(), clock=Clock(), poll=False)
    async with (
        run_service(settings, OrdersSettings(polling=False)) as orders,
        app.state.runtime.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p") as client,
    ):
        yield System(client, orders)


async def test_a_level_change_moves_the_quote_and_an_unpaid_sales_estimate(
    system: System,
) -> None:
    unpaid, paid = order_resource("fee-unpaid"), order_resource("fee-paid", payout=PAYOUT)
    gbp = order_resource("fee-gbp", currency="GBP")
    events = [event("stockx.order.updated", o) for o in (unpaid, paid, gbp)]
    await publish_events(system.orders.runtime.publisher, events)
    level1 = (Decimal("9.18"), Decimal("79.76"), "estimate")  # DOMAIN.md: EUR 102 pays 79.76

    async def estimated() -> bool:
        return await system.order("fee-unpaid") == level1 and await system.order("fee-gbp")

    await until(estimated, 15, what="level 1 estimates")
    # GBP is estimated from the same defaults: 102 - 9.18 - 3.06 - GBP 8 shipping
    assert await system.order("fee-gbp") == (Decimal("9.18"), Decimal("81.76"), "estimate")
    assert await system.floor() == "103.00"  # level 1: payout(103) = 80.58 >= 80 > payout(102)

    change = {"seller_level": 5, "effective_from": "2025-01-01T00:00:00Z"}
    put = await system.pricing.put("/api/v1/fees", json=change, headers=AUTH)
    assert put.status_code == 200, put.text

    assert await system.floor() == "100.00"  # level 5 (7 %): payout(100) = 80 >= 80
    level5 = (Decimal("7.14"), Decimal("81.80"), "estimate")  # 102 - 7.14 - 3.06 - 10

    async def reestimated() -> bool:
        return await system.order("fee-unpaid") == level5

    await until(reestimated, 15, what="level 5 estimates")
    assert await system.order("fee-gbp") == (Decimal("7.14"), Decimal("83.80"), "estimate")
    # StockX's own breakdown is the truth: a paid sale keeps it.
    assert await system.order("fee-paid") == (Decimal("8.94"), Decimal("80.00"), "stockx")
    copied = await system.orders.pool.fetchval("SELECT count(*) FROM fee_schedule")
    assert copied == 1
