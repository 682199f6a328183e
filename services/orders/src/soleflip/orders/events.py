"""Stored rows to snapshots, once: the snapshots `orders.*.upserted` carry, which the REST views
(`http/_views.py`) extend with what only the API shows."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import asyncpg

from soleflip.common.contracts import new_event
from soleflip.common.contracts.bounds import Money
from soleflip.common.contracts.orders import (
    LISTING_UPSERTED,
    ORDER_UPSERTED,
    SOURCE,
    STOCK_UPSERTED,
    ListingSnapshot,
    OrderSnapshot,
    StockSnapshot,
)
from soleflip.common.db import OutboxEvent


def money(amount: Decimal | None, currency: str | None) -> Money | None:
    if amount is None or currency is None:
        return None
    return Money(amount=amount, currency=currency)


def order_snapshot(row: asyncpg.Record) -> OrderSnapshot:
    currency = row["currency"]
    return OrderSnapshot(
        order_number=row["order_number"],
        status=row["status"],
        listing_id=row["listing_id"],
        stock_item_id=row["stock_item_id"],
        variant_id=row["variant_id"],
        product_id=row["product_id"],
        amount=money(row["amount"], currency),
        net_proceeds=money(row["net_proceeds"], currency),
        fees_source=row["fees_source"],
        landed_cost=money(row["landed_cost"], currency),
        profit=money(row["profit"], currency),
        roi=row["roi"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def listing_snapshot(row: asyncpg.Record) -> ListingSnapshot:
    return ListingSnapshot(
        listing_id=row["listing_id"],
        status=row["status"],
        variant_id=row["variant_id"],
        product_id=row["product_id"],
        stock_item_id=row["stock_item_id"],
        amount=money(row["amount"], row["currency"]),
        expires_at=row["expires_at"],
        updated_at=row["updated_at"],
    )


def stock_snapshot(row: asyncpg.Record) -> StockSnapshot:
    return StockSnapshot(
        stock_item_id=row["id"],
        external_id=row["external_id"],
        sku=row["sku"],
        size=row["size"],
        size_type=row["size_type"],
        status=row["status"],
        unit_cost=Money(amount=row["unit_cost"], currency=row["currency"]),
        variant_id=row["variant_id"],
        listing_id=row["listing_id"],
        order_number=row["order_number"],
        landed_cost=money(row["landed_cost"], row["currency"]),
        cost_missing=row["cost_missing"],
        variant_status=row["variant_status"],
    )


def order_events(rows: Iterable[asyncpg.Record]) -> list[OutboxEvent]:
    return [
        (ORDER_UPSERTED, new_event(ORDER_UPSERTED, s, source=SOURCE, subject=s.order_number))
        for s in map(order_snapshot, rows)
    ]


def listing_events(rows: Iterable[asyncpg.Record]) -> list[OutboxEvent]:
    return [
        (LISTING_UPSERTED, new_event(LISTING_UPSERTED, s, source=SOURCE, subject=s.listing_id))
        for s in map(listing_snapshot, rows)
    ]


def stock_events(rows: Iterable[asyncpg.Record]) -> list[OutboxEvent]:
    return [
        (STOCK_UPSERTED, new_event(STOCK_UPSERTED, s, source=SOURCE, subject=str(s.stock_item_id)))
        for s in map(stock_snapshot, rows)
    ]
