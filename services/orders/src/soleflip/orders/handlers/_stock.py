"""Stock units: purchases become units, and people correct them (every change kept in history).

Each unit of a purchase is one stock item. A change made over the API is checked against the
lifecycle (`domain.check_transition`) and lands with a `stock_history` row naming its source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from soleflip.common.contracts.ingest import ItemPurchase
from soleflip.common.db import Conn, UnitOfWork, enqueue_many
from soleflip.common.errors import InvalidInput, NotFound
from soleflip.common.matching import code_keys
from soleflip.orders import repository as repo
from soleflip.orders.domain import CostParts, check_transition, landed_cost, vat_included
from soleflip.orders.events import order_events, stock_events
from soleflip.orders.handlers._resolve import attach_sales, resolve_units

ZERO = Decimal(0)
#: The columns a landed cost is made of (a change of one recomputes it).
COST_COLUMNS = frozenset({"unit_cost", "vat_amount", "inbound_cost", "other_cost"})


def purchase_parts(purchase: ItemPurchase) -> CostParts:
    """The cost parts of one unit; the VAT comes from its rate when no amount is given."""
    price = purchase.unit_cost.amount
    rate = purchase.vat_rate_pct or Decimal(0)
    vat = purchase.vat_amount.amount if purchase.vat_amount else vat_included(price, rate)
    return CostParts(
        unit_cost=price,
        vat_amount=vat,
        inbound_cost=purchase.inbound_shipping.amount if purchase.inbound_shipping else ZERO,
        other_cost=purchase.other_costs.amount if purchase.other_costs else ZERO,
    )


def purchase_units(
    purchase: ItemPurchase, *, vat_reclaimable: bool = False
) -> list[repo.StockUnit]:
    """A purchase of quantity n as n units, numbered 1..n under its `external_id`."""
    parts = purchase_parts(purchase)
    return [
        repo.StockUnit(
            external_id=purchase.external_id,
            unit=unit,
            sku=purchase.sku,
            size=purchase.size,
            size_type=purchase.size_type,
            unit_cost=parts.unit_cost,
            currency=purchase.unit_cost.currency,
            supplier=purchase.supplier,
            purchased_at=purchase.purchased_at,
            status="IN_STOCK" if purchase.received else "ORDERED",
            vat_amount=parts.vat_amount,
            vat_rate_pct=purchase.vat_rate_pct or ZERO,
            inbound_cost=parts.inbound_cost,
            other_cost=parts.other_cost,
            landed_cost=landed_cost(parts, vat_reclaimable=vat_reclaimable),
            sku_keys=tuple(code_keys(purchase.sku)),
        )
        for unit in range(1, purchase.quantity + 1)
    ]


async def record_purchases(
    purchases: Sequence[ItemPurchase], *, conn: Conn, source: str = "api"
) -> list[int]:
    """Add the units of `purchases` not seen before (idempotent on `external_id`), publish."""
    if not purchases:
        return []
    reclaimable = await repo.vat_reclaimable(conn)
    units = [u for p in purchases for u in purchase_units(p, vat_reclaimable=reclaimable)]
    await repo.stock_context(conn, source, reason="purchase")
    created = await repo.insert_units(conn, units)
    ids = [row["id"] for row in created]
    if created:
        # Known to the catalog copy already: the unit has its variant (and a waiting sale its
        # unit) before the purchase is even published.
        await repo.lock_style_keys(conn, sorted({k for u in units for k in u.sku_keys}))
        resolved = await resolve_units(conn=conn, source=source, ids=ids)
        await enqueue_many(conn, stock_events(repo.last_written("id", created, resolved)))
    return ids


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
            errors=[{"field": "currency", "message": f"cost parts must be in {unit['currency']}"}],
        )
    values = {k: v for k, v in command.values.items() if k != "currency"}
    if command.status is not None:
        check_transition(unit["status"], command.status)
        values["status"] = command.status
    if (COST_COLUMNS | {"vat_rate_pct"}) & values.keys():
        values |= await _costs(uow, unit, values)
    if "variant_id" in values:
        values["variant_status"] = "resolved" if values["variant_id"] else "pending"
    supplier = values.get("supplier_id")
    if isinstance(supplier, int) and await repo.lock_supplier(uow.conn, supplier) is None:
        raise InvalidInput(
            f"supplier {supplier} does not exist",
            errors=[{"field": "supplier_id", "message": "no supplier has this id"}],
        )
    await repo.stock_context(uow.conn, source, actor=actor, reason="edit")
    await repo.update_stock(uow.conn, command.stock_item_id, values)
    if values.get("variant_id") and unit["order_number"] is None:
        await attach_sales([str(values["variant_id"])], conn=uow.conn, source=source)
    await _publish(uow.conn, [unit["id"]], [unit["order_number"]] if unit["order_number"] else [])


async def _costs(uow: UnitOfWork, unit: asyncpg.Record, values: dict[str, Any]) -> dict[str, Any]:
    """The new landed cost; a unit whose price is given has a known cost from now on."""
    merged = {c: values.get(c, unit[c]) for c in COST_COLUMNS}
    derived: dict[str, Any] = {}
    if "vat_rate_pct" in values and "vat_amount" not in values:
        derived["vat_amount"] = merged["vat_amount"] = vat_included(
            merged["unit_cost"], values["vat_rate_pct"]
        )
    if merged["vat_amount"] > merged["unit_cost"]:
        raise InvalidInput("vat_amount cannot exceed unit_cost (the price includes its VAT)")
    missing = unit["cost_missing"] and "unit_cost" not in values
    parts = CostParts(**merged)
    reclaimable = await repo.vat_reclaimable(uow.conn)
    cost = None if missing else landed_cost(parts, vat_reclaimable=reclaimable)
    return derived | {"landed_cost": cost, "cost_missing": missing}


async def _publish(conn: Conn, stock_ids: Sequence[int], order_numbers: Sequence[str]) -> None:
    """Stock events for the units; profit recomputed and order events for their sales."""
    if stock_ids:
        # Read back: the edit or the new landed costs, and a sale taking the unit, are
        # different statements (an edit's columns vary; the costs are one statement per unit).
        await enqueue_many(conn, stock_events(await repo.select_stock(conn, stock_ids)))
    if order_numbers:
        repriced = await repo.reprice_profit(conn, order_numbers)
        # A sale without proceeds is not repriced: it is published as it stands.
        rest = sorted(set(order_numbers) - {row["order_number"] for row in repriced})
        others = await repo.select_orders(conn, rest) if rest else []
        await enqueue_many(conn, order_events(repo.last_written("order_number", others, repriced)))


async def set_vat_reclaimable(value: bool, *, uow: UnitOfWork, actor: str | None) -> None:
    """Change the seller's VAT setting: every unit with VAT gets its landed cost recomputed,
    and the profit of its sale with it."""
    if await repo.set_vat_reclaimable(uow.conn, value):
        units = await repo.vat_units(uow.conn)
        costs = [(u["id"], landed_cost(_parts(u), vat_reclaimable=value)) for u in units]
        await repo.stock_context(uow.conn, "api", actor=actor, reason="vat setting")
        await repo.set_landed_costs(uow.conn, costs)
        sold = [u["order_number"] for u in units if u["order_number"]]
        await _publish(uow.conn, [u["id"] for u in units], sold)


def _parts(row: asyncpg.Record) -> CostParts:
    return CostParts(row["unit_cost"], row["vat_amount"], row["inbound_cost"], row["other_cost"])


async def set_link_strategy(strategy: str, *, conn: Conn) -> None:
    """How a sale of a variant picks its unit: fifo, lifo or specific."""
    await repo.set_link_strategy(conn, strategy)
