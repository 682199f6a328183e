"""Landed cost: cost parts from a purchase and a PATCH, the VAT setting, profit and ROI."""

from __future__ import annotations

from decimal import Decimal

from soleflip.common.contracts import uuid7
from tests.integration.orders.conftest import Rest
from tests.integration.orders.support import event, order_resource, publish_events
from tests.integration.orders.test_stock_lifecycle import record
from tests.support.wait import until

PARTS = {
    "unit_cost": {"amount": "119.00", "currency": "EUR"},
    "vat_rate_pct": "19",
    "inbound_shipping": {"amount": "5.00", "currency": "EUR"},
    "other_costs": {"amount": "2.00", "currency": "EUR"},
}


async def _order(rest: Rest, number: str) -> dict[str, object]:
    async with rest.service.pool.acquire() as conn:
        row = await conn.fetchrow('SELECT * FROM "order" WHERE order_number = $1', number)
    return dict(row) if row else {}


async def test_profit_uses_the_landed_cost_and_follows_the_vat_setting(rest: Rest) -> None:
    [unit] = await record(rest, **PARTS)
    assert unit["vat_amount"] == {"amount": "19.00", "currency": "EUR"}
    assert unit["landed_cost"] == {"amount": "126.00", "currency": "EUR"}
    async with rest.service.pool.acquire() as conn:
        await conn.execute("UPDATE stock_item SET variant_id = 'var-1' WHERE id = $1", unit["id"])
    number = f"1-{uuid7()}"
    sale = order_resource(number, amount="200")
    await publish_events(rest.service.runtime.publisher, [event("stockx.order.updated", sale)])

    async def priced(profit: str) -> bool:
        return (await _order(rest, number)).get("profit") == Decimal(profit)

    await until(lambda: priced("40.00"))  # 200 pays 166.00; 166 - 126
    assert (await _order(rest, number))["roi"] == Decimal("0.3175")
    response = await rest.call("PUT", "/api/v1/stock/settings", json={"vat_reclaimable": True})
    assert response.json() == {"vat_reclaimable": True, "link_strategy": "fifo"}
    await until(lambda: priced("59.00"))  # the VAT comes back: 166 - 107
    row = await _order(rest, number)
    assert (row["landed_cost"], row["roi"]) == (Decimal("107.00"), Decimal("0.5514"))
    patch = {"other_costs": {"amount": "12.00", "currency": "EUR"}}
    body = (await rest.call("PATCH", f"/api/v1/stock/{unit['id']}", json=patch)).json()
    assert body["landed_cost"] == {"amount": "117.00", "currency": "EUR"}
    await until(lambda: priced("49.00"))


async def test_cost_parts_in_another_currency_or_out_of_bounds_are_refused(rest: Rest) -> None:
    for bad in (
        {"inbound_shipping": {"amount": "5", "currency": "USD"}},
        {"vat_rate_pct": "101"},
        {"other_costs": {"amount": "-1", "currency": "EUR"}},
        {"vat_amount": {"amount": "70", "currency": "EUR"}},  # more than the price
        {"unit_cost": {"amount": "1000000.01", "currency": "EUR"}},
    ):
        response = await rest.call("POST", "/api/v1/stock", json=_purchase() | bad)
        assert response.status_code in (400, 422), (bad, response.text)


def _purchase() -> dict[str, object]:
    return {
        "sku": "DD1391-100",
        "size": "10",
        "size_type": "us m",
        "quantity": 1,
        "unit_cost": {"amount": "60.00", "currency": "EUR"},
        "purchased_at": "2026-01-10T10:00:00Z",
        "supplier": "shop",
        "external_id": f"po-{uuid7()}",
    }
