"""Stock units: purchases become units, and people correct them (every change kept in history).

Each unit of a purchase is one stock item. A change made over the API is checked against the
lifecycle (`domain.check_transition`) and lands with a `stock_history` row naming its source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from soleflip.common.contracts.ingest import ItemPurchase
from soleflip.common.db import Conn, UnitOfWork, enqueue_many
from soleflip.common.errors import InvalidInput, NotFound
from soleflip.orders import repository as repo
from soleflip.orders.domain import check_transition
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
            status="IN_STOCK" if purchase.received else "ORDERED",
        )
        for unit in range(1, purchase.quantity + 1)
    ]


async def record_purchases(
    conn: Conn, purchases: Sequence[ItemPurchase], *, source: str = "api"
) -> list[int]:
    """Add the units of `purchases` not seen before (idempotent on `external_id`), publish."""
    units = [unit for purchase in purchases for unit in purchase_units(purchase)]
    if not units:
        return []
    await repo.stock_context(conn, source, reason="purchase")
    created = await repo.insert_units(conn, units)
    if created:
        await enqueue_many(conn, stock_events(await repo.select_stock(conn, created)))
    return created


@dataclass(frozen=True, slots=True)
class ChangeStock:
    """A correction of one unit: new column values (already validated) and/or a new status."""

    stock_item_id: int
    values: dict[str, object] = field(default_factory=dict)
    status: str | None = None


async def change_stock(
    command: ChangeStock, *, uow: UnitOfWork, source: str, actor: str | None
) -> None:
    """Apply a correction if the lifecycle allows it (409 otherwise), record who made it."""
    unit = await repo.lock_stock_item(uow.conn, command.stock_item_id)
    if unit is None:
        raise NotFound(f"stock item {command.stock_item_id} does not exist")
    money = command.values.get("currency")
    if money is not None and money != unit["currency"]:
        raise InvalidInput(
            f"stock item {command.stock_item_id} is in {unit['currency']}, not {money}",
            errors=[{"field": "unit_cost.currency", "message": f"must be {unit['currency']}"}],
        )
    values = {k: v for k, v in command.values.items() if k != "currency"}
    if command.status is not None:
        check_transition(unit["status"], command.status)
        values["status"] = command.status
    await repo.stock_context(uow.conn, source, actor=actor, reason="edit")
    await repo.update_stock(uow.conn, command.stock_item_id, values)
    await enqueue_many(uow.conn, stock_events(await repo.select_stock(uow.conn, [unit["id"]])))
    await uow.commit()
