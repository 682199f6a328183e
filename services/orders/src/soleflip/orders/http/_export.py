"""CSV exports of the orders, listings and stock lists (`?format=csv` or `Accept: text/csv`):
the same filters and the same keyset queries as the JSON pages, streamed over every page.

Money is a plain decimal next to a `currency` column; columns are listed here, in order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from litestar.params import QueryParameter
from litestar.response import Stream

from soleflip.common.http import csv_stream, keyset_chunks
from soleflip.orders import queries
from soleflip.orders.service import OrdersService

#: `?format=csv|json` on every list route (`Accept: text/csv` does the same).
Format = Annotated[
    str | None,
    QueryParameter(
        name="format", description="csv: stream every page as CSV (or Accept: text/csv)"
    ),
]
#: The readable product columns (`queries.readable`), last on every list.
PRODUCT_COLUMNS = (
    ("product_title", "product_title"),
    ("brand", "brand"),
    ("style_id", "style_id"),
    ("colorway", "colorway"),
    ("image_url", "image_url"),
)
#: The variant's own size (a unit's purchase size has its own `size_type`, `size` columns).
VARIANT_SIZE_COLUMNS = (("size_type", "variant_size_type"), ("size", "variant_size"))
#: (CSV header, column of the list query) in output order.
ORDER_COLUMNS = (
    ("order_number", "order_number"),
    ("status", "status"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
    ("listing_id", "listing_id"),
    ("stock_item_id", "stock_item_id"),
    ("variant_id", "variant_id"),
    ("product_id", "product_id"),
    ("currency", "currency"),
    ("amount", "amount"),
    ("transaction_fee", "transaction_fee"),
    ("processing_fee", "processing_fee"),
    ("shipping_fee", "shipping_fee"),
    ("fees_source", "fees_source"),
    ("net_proceeds", "net_proceeds"),
    ("landed_cost", "landed_cost"),
    ("profit", "profit"),
    ("roi", "roi"),
    *PRODUCT_COLUMNS,
    *VARIANT_SIZE_COLUMNS,
)
LISTING_COLUMNS = (
    ("listing_id", "listing_id"),
    ("status", "status"),
    ("variant_id", "variant_id"),
    ("product_id", "product_id"),
    ("stock_item_id", "stock_item_id"),
    ("currency", "currency"),
    ("amount", "amount"),
    ("inventory_type", "inventory_type"),
    ("expires_at", "expires_at"),
    ("order_number", "order_number"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
    *PRODUCT_COLUMNS,
    *VARIANT_SIZE_COLUMNS,
)
STOCK_COLUMNS = (
    ("id", "id"),
    ("external_id", "external_id"),
    ("sku", "sku"),
    ("size", "size"),
    ("size_type", "size_type"),
    ("variant_id", "variant_id"),
    ("variant_status", "variant_status"),
    ("status", "status"),
    ("condition", "condition"),
    ("location", "location"),
    ("supplier", "supplier"),
    ("purchased_at", "purchased_at"),
    ("currency", "currency"),
    ("unit_cost", "unit_cost"),
    ("vat_amount", "vat_amount"),
    ("vat_rate_pct", "vat_rate_pct"),
    ("inbound_shipping", "inbound_cost"),
    ("other_costs", "other_cost"),
    ("landed_cost", "landed_cost"),
    ("cost_missing", "cost_missing"),
    ("listing_id", "listing_id"),
    ("order_number", "order_number"),
    ("notes", "notes"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
    *PRODUCT_COLUMNS,
    ("variant_size_type", "variant_size_type"),
    ("variant_size", "variant_size"),
    ("supplier_id", "supplier_id"),
)
Columns = Sequence[tuple[str, str]]


async def _rows(
    chunks: AsyncIterator[Sequence[asyncpg.Record]], columns: Columns
) -> AsyncIterator[list[list[Any]]]:
    names = [column for _, column in columns]
    async for records in chunks:
        yield [[record[name] for name in names] for record in records]


async def _export(
    chunks: AsyncIterator[Sequence[asyncpg.Record]], columns: Columns, filename: str
) -> Stream:
    return await csv_stream([h for h, _ in columns], _rows(chunks, columns), filename=filename)


async def orders_csv(
    service: OrdersService,
    *,
    statuses: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    unmatched: bool | None,
) -> Stream:
    """Every order the filters select, newest first (as `GET /api/v1/orders` pages them)."""

    async def fetch(after: tuple[datetime, str] | None, limit: int) -> list[asyncpg.Record]:
        async with service.pool.acquire() as conn:
            return await queries.list_orders(
                conn,
                statuses=statuses,
                since=since,
                until=until,
                unmatched=unmatched,
                after=after,
                limit=limit,
                base_currency=service.options.base_currency,
            )

    chunks = keyset_chunks(fetch, lambda r: (r["created_at"], r["order_number"]))
    return await _export(chunks, ORDER_COLUMNS, "orders.csv")


async def listings_csv(service: OrdersService, *, statuses: Sequence[str] | None) -> Stream:
    """Every listing the filters select, by listing id."""

    async def fetch(after: str | None, limit: int) -> list[asyncpg.Record]:
        async with service.pool.acquire() as conn:
            return await queries.list_listings(conn, statuses=statuses, after=after, limit=limit)

    chunks = keyset_chunks(fetch, lambda r: r["listing_id"])
    return await _export(chunks, LISTING_COLUMNS, "listings.csv")


async def stock_csv(service: OrdersService, where: queries.StockFilter) -> Stream:
    """Every stock unit the filters select, by id."""

    async def fetch(after: int | None, limit: int) -> list[asyncpg.Record]:
        async with service.pool.acquire() as conn:
            return await queries.list_stock(conn, where, after=after, limit=limit)

    chunks = keyset_chunks(fetch, lambda r: r["id"])
    return await _export(chunks, STOCK_COLUMNS, "stock.csv")
