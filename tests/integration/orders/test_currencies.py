"""Currencies: a EUR purchase sold in GBP or USD has profit in the sale currency and in the base
currency, at the FX rate of the sale date (or the latest of the 7 days before); without a rate
the profit says `fx_missing` until `soleflip fx import` (a real CLI process) or an n8n
`fx.rates.published` event brings one. Real Postgres and NATS."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from soleflip.common.contracts.ingest import ItemPurchase, Money
from soleflip.common.db import UnitOfWork
from soleflip.common.settings import Settings
from soleflip.orders import queries
from soleflip.orders import repository as repo
from soleflip.orders.handlers import record_purchases
from soleflip.orders.http._views import order_view
from soleflip.orders.service import OrdersService
from tests.integration.orders.support import event, order_resource, publish_events
from tests.support.sim import env_for
from tests.support.wait import until

SOLEFLIP = Path(sys.executable).parent / "soleflip"
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "fx" / "eurofxref-hist-sample.csv"


async def _sold(orders: OrdersService, number: str, currency: str, amount: str) -> None:
    """A unit bought for EUR 80 and sold (created 2026-01-01, a day without ECB rates)."""
    purchase = ItemPurchase(
        sku="DD1391-100", size="10", size_type="us m", quantity=1,
        unit_cost=Money(amount=Decimal("80.00"), currency="EUR"),
        purchased_at=datetime(2025, 12, 1, tzinfo=UTC), supplier="shop", external_id=number,
    )  # fmt: skip
    async with UnitOfWork(orders.pool) as uow:
        [unit] = await record_purchases([purchase], conn=uow.conn)
        await repo.set_variant(uow.conn, unit, f"var-{number}")
        await uow.commit()
    sale = order_resource(number, currency=currency, amount=amount, variant_id=f"var-{number}")
    await publish_events(orders.runtime.publisher, [event("stockx.order.updated", sale)])


async def _view(orders: OrdersService, number: str) -> Any:
    async with orders.pool.acquire() as conn:
        row = await queries.get_order(conn, number, "EUR")
    return None if row is None or row["stock_item_id"] is None else order_view(row)


async def _fx_import(settings: Settings, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(SOLEFLIP), "fx", "import", *args, env=env_for(settings),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_a_eur_purchase_sold_in_gbp_has_profit_in_both_currencies(
    orders: OrdersService, orders_settings: Settings
) -> None:
    await _sold(orders, "fx-gbp", "GBP", "120")
    view = await until(lambda: _view(orders, "fx-gbp"), 15, what="the sale linked")
    # No rate yet: profit is not a silent null, it says why.
    assert (view.profit, view.profit_base, view.fx_status) == (None, None, "fx_missing")
    code, out, err = await _fx_import(orders_settings, str(SAMPLE))
    assert code == 0, err
    assert "23 rates of 4 days read" in out

    async def priced() -> Any:
        found = await _view(orders, "fx-gbp")
        return found if found.profit is not None else None

    view = await until(priced, 15, what="the sale repriced")
    # 2026-01-01 has no rate: 2025-12-31's GBP 0.85 per EUR. Landed cost 80 x 0.85 = GBP 68.00;
    # payout 120 - 10.80 - 3.60 - 8 = 97.60; profit 29.60 GBP = 29.60 / 0.85 = EUR 34.82.
    assert view.landed_cost == Money(amount=Decimal("68.00"), currency="GBP")
    assert view.net_proceeds == Money(amount=Decimal("97.60"), currency="GBP")
    assert view.profit == Money(amount=Decimal("29.60"), currency="GBP")
    assert view.profit_base == Money(amount=Decimal("34.82"), currency="EUR")
    assert view.roi == view.roi_base == Decimal("0.4353")
    assert (view.fx_status, view.fx_rate_date) == ("converted", date(2025, 12, 31))
    async with orders.pool.acquire() as conn:
        stored = await conn.fetchrow(
            "SELECT source, rate FROM fx_rate WHERE currency = 'GBP' AND rate_date = '2025-12-31'"
        )
        report = await queries.profit(
            conn, unit="day", start=datetime(2025, 12, 31, tzinfo=UTC),
            end=datetime(2026, 1, 2, tzinfo=UTC), excluded=[], base_currency="EUR",
        )  # fmt: skip
    assert (stored["source"], stored["rate"]) == ("ECB", Decimal("0.85"))
    [day] = report
    assert (day["profit"], day["profit_base"], day["fx_missing"]) == (
        Decimal("29.60"),
        Decimal("34.82"),
        0,
    )


async def test_a_rate_from_n8n_prices_a_sale_waiting_for_it(orders: OrdersService) -> None:
    await _sold(orders, "fx-usd", "USD", "150")
    view = await until(lambda: _view(orders, "fx-usd"), 15, what="the sale linked")
    assert view.fx_status == "fx_missing"
    rates = {"date": "2026-01-01", "rates": {"USD": "1.04"}, "source": "n8n/ecb-daily"}
    await publish_events(orders.runtime.publisher, [event("fx.rates.published", rates)])

    async def priced() -> Any:
        found = await _view(orders, "fx-usd")
        return found if found.profit is not None else None

    view = await until(priced, 15, what="the sale repriced")
    # 80 x 1.04 = USD 83.20; payout 150 - 13.50 - 4.50 - 4 = 128.00; 44.80 / 1.04 = EUR 43.08
    assert view.profit == Money(amount=Decimal("44.80"), currency="USD")
    assert view.profit_base == Money(amount=Decimal("43.08"), currency="EUR")
    source = await orders.pool.fetchval("SELECT source FROM fx_rate WHERE currency = 'USD'")
    assert source == "n8n/ecb-daily"


async def test_a_rate_more_than_7_days_old_is_not_used(orders: OrdersService) -> None:
    await _sold(orders, "fx-stale", "GBP", "120")
    rates = {"date": "2025-12-24", "rates": {"GBP": "0.85"}}  # 8 days before the sale
    await publish_events(orders.runtime.publisher, [event("fx.rates.published", rates)])
    count = "SELECT count(*) FROM fx_rate"
    await until(lambda: orders.pool.fetchval(count), 15, what="the rate stored")
    view = await until(lambda: _view(orders, "fx-stale"), 15, what="the sale linked")
    assert (view.profit, view.fx_status) == (None, "fx_missing")


async def test_a_refused_line_is_reported_and_the_rest_imported(
    orders_settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "rates.csv"
    bad.write_text("Date,USD,GBP,\n2026-01-05,0,0.85,\n2026-01-06,1.05,0.86,\n")
    code, out, err = await _fx_import(orders_settings, str(bad), "--source", "manual")
    assert code == 1
    assert "2 rates of 1 days read" in out
    assert "refused line 2: USD rate 0 is outside" in err
