"""`soleflip sync orders` (a real CLI process) and the estimate → payout-breakdown switch."""

from __future__ import annotations

import asyncio
import math
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from soleflip.common.settings import Settings
from soleflip.orders import queries
from soleflip.orders.domain import NO_SALE_STATUSES
from soleflip.orders.service import OrdersService
from tests.integration.orders.support import (
    event,
    order_resource,
    publish_events,
    running_sim,
    sim_config,
    sim_get,
    with_sim,
)
from tests.support.sim import env_for
from tests.support.wait import until

SOLEFLIP = Path(sys.executable).parent / "soleflip"
T_LATE = "2026-01-02T10:00:00.000Z"


def _env(settings: Settings) -> dict[str, str]:
    return env_for(settings) | {"SOLEFLIP_STOCKX_RATE_PER_S": "1000"}


async def test_sync_orders_backfills_with_a_progress_bar(orders_settings: Settings) -> None:
    async with running_sim(sim_config(orders=150, listings=10)) as url:
        settings = with_sim(orders_settings, url)
        proc = await asyncio.create_subprocess_exec(
            str(SOLEFLIP),
            "sync",
            "orders",
            "--since",
            "2000-01-01",
            env=_env(settings),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()[-2000:]
        truth = (await sim_get(url, "/_sim/state/orders"))["orders"]
        paths = [r["path"] for r in (await sim_get(url, "/_sim/requests"))["requests"]]
    assert f"sync orders: {len(truth)} seen" in out.decode()
    assert "sync orders" in err.decode()  # tqdm draws on stderr
    lists = sum(p in ("/v2/selling/orders/active", "/v2/selling/orders/history") for p in paths)
    assert lists <= math.ceil(len(truth) / 100) + 1


async def _row(service: OrdersService, number: str) -> dict[str, object] | None:
    async with service.pool.acquire() as conn:
        row = await conn.fetchrow('SELECT * FROM "order" WHERE order_number = $1', number)
    return dict(row) if row else None


async def test_payout_breakdown_replaces_the_estimate(orders: OrdersService) -> None:
    number = "77-payout"
    estimate = order_resource(number, "CREATED", "2026-01-01T10:00:00.000Z")
    await publish_events(orders.runtime.publisher, [event("stockx.order.updated", estimate)])

    async def estimated() -> bool:
        row = await _row(orders, number)
        return row is not None and row["fees_source"] == "estimate"

    await until(estimated, 15)
    row = await _row(orders, number)
    assert row is not None
    assert row["net_proceeds"] == Decimal("79.76")  # docs/domain.md: EUR 102 at level 1
    payout = {
        "totalPayout": "81.80",
        "salePrice": "102.00",
        "totalAdjustments": "-20.20",
        "currencyCode": "EUR",
        "adjustments": [
            {"adjustmentType": "Transaction Fee (8%)", "amount": "-8.16", "percentage": "0.08"},
            {"adjustmentType": "Payment Proc. (3%)", "amount": "-3.06", "percentage": "0.03"},
            {"adjustmentType": "Shipping", "amount": "-8.98", "percentage": "0"},
        ],
    }
    paid = order_resource(number, "PAYOUTCOMPLETED", "2026-01-05T10:00:00.000Z", payout=payout)
    await publish_events(orders.runtime.publisher, [event("stockx.order.updated", paid)])

    async def overridden() -> bool:
        row = await _row(orders, number)
        return row is not None and row["fees_source"] == "stockx"

    await until(overridden, 15)
    row = await _row(orders, number)
    assert row is not None
    assert row["net_proceeds"] == Decimal("81.80")
    assert row["transaction_fee"] == Decimal("8.16")
    assert row["shipping_fee"] == Decimal("8.98")


async def test_a_sale_the_seller_did_not_ship_costs_the_cancellation_fee(
    orders: OrdersService,
) -> None:
    failed, cancelled = "77-didnotship", "77-cancelled"
    events = [
        event("stockx.order.updated", order_resource(failed, "CREATED")),
        event("stockx.order.updated", order_resource(cancelled, "CREATED")),
        event("stockx.order.updated", order_resource(failed, "DIDNOTSHIP", T_LATE)),
        # A cancellation that was not the seller's fault (no DIDNOTSHIP before) costs nothing.
        event("stockx.order.updated", order_resource(cancelled, "CANCELED", T_LATE)),
    ]
    await publish_events(orders.runtime.publisher, events)

    async def applied() -> bool:
        rows = [await _row(orders, n) for n in (failed, cancelled)]
        return all(r is not None and r["status"] != "CREATED" for r in rows)

    await until(applied, 15)
    row = await _row(orders, failed)
    assert row is not None
    assert (row["cancellation_fee"], row["profit"]) == (Decimal("15.00"), Decimal("-15.00"))
    other = await _row(orders, cancelled)
    assert other is not None
    assert (other["cancellation_fee"], other["profit"]) == (None, None)
    # StockX then closes the failed sale as CANCELED: still the seller's failure, still charged.
    closed = order_resource(failed, "CANCELED", "2026-01-03T10:00:00.000Z")
    await publish_events(orders.runtime.publisher, [event("stockx.order.updated", closed)])

    async def closed_applied() -> bool:
        row = await _row(orders, failed)
        return row is not None and row["status"] == "CANCELED"

    await until(closed_applied, 15)
    row = await _row(orders, failed)
    assert row is not None
    assert (row["cancellation_fee"], row["profit"]) == (Decimal("15.00"), Decimal("-15.00"))
    async with orders.pool.acquire() as conn:
        report = await queries.profit(
            conn, unit="month", start=datetime(2020, 1, 1, tzinfo=UTC),
            end=datetime(2030, 1, 1, tzinfo=UTC), excluded=sorted(NO_SALE_STATUSES),
        )  # fmt: skip
    [month] = report  # the charge counts; neither failed sale counts as a sale
    assert (month["orders"], month["revenue"]) == (0, None)
    assert (month["profit"], month["cancellation_fees"]) == (Decimal("-15.00"), Decimal("15.00"))
