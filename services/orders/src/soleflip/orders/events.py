"""Stored rows to snapshots, once: the snapshots `orders.*.upserted` carry, which the REST views
(`http/_views.py`) extend with what only the API shows.

`from_row` is the one mapping of a row to either shape: a field is the row's column of the same
name unless it is computed (money from an amount and its currency, renamed columns), so a column
is named once, where the shape declares it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import msgspec

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

S = TypeVar("S", bound=msgspec.Struct)


def money(amount: Decimal | None, currency: str | None) -> Money | None:
    if amount is None or currency is None:
        return None
    return Money(amount=amount, currency=currency)


@functools.cache
def _columns(kind: type[msgspec.Struct], computed: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in kind.__struct_fields__ if name not in computed)


def from_row(kind: type[S], row: asyncpg.Record, **computed: Any) -> S:
    """`kind` from a stored row: each field not in `computed` is the column of its name.
    (The column names are cached by the computed names in call order: a call site passes
    them in one order, and a tuple is hashed far cheaper than a fresh frozenset per row.)"""
    return kind(**{name: row[name] for name in _columns(kind, tuple(computed))}, **computed)


def order_snapshot(row: asyncpg.Record) -> OrderSnapshot:
    c = row["currency"]
    return from_row(
        OrderSnapshot,
        row,
        amount=money(row["amount"], c),
        net_proceeds=money(row["net_proceeds"], c),
        landed_cost=money(row["landed_cost"], c),
        profit=money(row["profit"], c),
    )


def listing_snapshot(row: asyncpg.Record) -> ListingSnapshot:
    return from_row(ListingSnapshot, row, amount=money(row["amount"], row["currency"]))


def stock_snapshot(row: asyncpg.Record) -> StockSnapshot:
    c = row["currency"]
    return from_row(
        StockSnapshot,
        row,
        stock_item_id=row["id"],
        unit_cost=Money(amount=row["unit_cost"], currency=c),
        landed_cost=money(row["landed_cost"], c),
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
