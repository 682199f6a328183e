"""Stock from purchase events: each unit of a purchase is one stock item."""

from __future__ import annotations

from collections.abc import Sequence

from soleflip.common.contracts.ingest import ItemPurchase
from soleflip.common.db import Conn, enqueue_many
from soleflip.orders import repository as repo
from soleflip.orders.events import stock_events


def purchase_units(purchase: ItemPurchase) -> list[repo.StockUnit]:
    """A purchase of quantity n as n units, numbered 1..n under its `external_id`."""
    return [
        repo.StockUnit(
            external_id=purchase.external_id,
            unit=unit,
            sku=purchase.sku,
            size=purchase.size,
            size_type=purchase.size_type,
            unit_cost=purchase.unit_cost.amount,
            currency=purchase.unit_cost.currency,
            supplier=purchase.supplier,
            purchased_at=purchase.purchased_at,
        )
        for unit in range(1, purchase.quantity + 1)
    ]


async def record_purchases(conn: Conn, purchases: Sequence[ItemPurchase]) -> list[int]:
    """Add the units of `purchases` not seen before (idempotent on `external_id`), publish."""
    units = [unit for purchase in purchases for unit in purchase_units(purchase)]
    created = await repo.insert_units(conn, units)
    if created:
        await enqueue_many(conn, stock_events(await repo.select_stock(conn, created)))
    return created
