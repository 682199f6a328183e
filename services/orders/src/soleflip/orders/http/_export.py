"""CSV answers of every list and report (`?format=csv` or `Accept: text/csv`): the orders,
listings and stock lists answer the same filters and order as their JSON pages in one
`COPY (SELECT ...) TO STDOUT` whose CSV lines Postgres renders (`soleflip.common.http.sql_cell`,
the same cell rules; `_export`), other lists stream their keyset pages (`keyset_csv`), reports
answer their rows as one chunk (`table_csv`).

Money is a plain decimal next to a `currency` column; columns are listed here, in order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from litestar.params import QueryParameter
from litestar.response import Stream

from soleflip.common.db import Conn
from soleflip.common.http import CellKind, copy_csv_stream, csv_stream, keyset_chunks, sql_cell
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
#: A record (or the mapping `item` makes of it) whose `.get(column)` is a CSV cell.
Item = Callable[[Any], Mapping[str, Any]]


async def _cells(
    chunks: AsyncIterator[Sequence[Any]], columns: Sequence[str], item: Item | None
) -> AsyncIterator[list[list[Any]]]:
    async for records in chunks:
        values = records if item is None else [item(r) for r in records]
        yield [[value.get(name) for name in columns] for value in values]


async def csv_export(
    chunks: AsyncIterator[Sequence[Any]],
    header: Sequence[str],
    filename: str,
    *,
    columns: Sequence[str] | None = None,
    item: Item | None = None,
) -> Stream:
    """Each chunk's records (or `item(record)`) as CSV rows of `columns` (default: `header`)."""
    return await csv_stream(header, _cells(chunks, columns or header, item), filename=filename)


async def table_csv(
    header: Sequence[str], rows: Sequence[Mapping[str, Any]], filename: str
) -> Stream:
    """A report's rows as one CSV chunk (a report is small: one row per group)."""

    async def once() -> AsyncIterator[Sequence[Mapping[str, Any]]]:
        yield rows

    return await csv_export(once(), header, filename)


async def keyset_csv(
    pool: asyncpg.Pool,
    query: Callable[..., Awaitable[Sequence[Any]]],
    key: Callable[[Any], Any],
    header: Sequence[str],
    filename: str,
    *,
    columns: Sequence[str] | None = None,
    item: Item | None = None,
    **params: Any,
) -> Stream:
    """Every page of `query(conn, after=, limit=, **params)` (keyset by `key`) as CSV."""

    async def fetch(after: Any, limit: int) -> Sequence[Any]:
        async with pool.acquire() as conn:
            return await query(conn, after=after, limit=limit, **params)

    chunks = keyset_chunks(fetch, key)
    return await csv_export(chunks, header, filename, columns=columns, item=item)


#: How each list column is rendered in an export (`sql_cell`); any other column is text.
KINDS: dict[str, CellKind] = {
    **dict.fromkeys(("created_at", "updated_at", "expires_at", "purchased_at"), "time"),
    "cost_missing": "bool",
    **dict.fromkeys(
        (
            "id", "stock_item_id", "supplier_id", "amount", "transaction_fee", "processing_fee",
            "shipping_fee", "net_proceeds", "landed_cost", "profit", "roi", "unit_cost",
            "vat_amount", "vat_rate_pct", "inbound_cost", "other_cost",
        ),
        "number",
    ),
}  # fmt: skip


#: The columns of `queries.readable`'s join (a table may have a column of the same name).
READABLE = frozenset(
    ("product_title", "brand", "style_id", "colorway", "image_url", "variant_size_type",
     "variant_size")
)  # fmt: skip


def _sql_cells(columns: Columns) -> str:
    """The select list of a list's export: each column as its CSV cell."""
    return ", ".join(
        sql_cell(f"readable.{name}" if name in READABLE else name, KINDS.get(name, "text"))
        for _, name in columns
    )


ORDER_CELLS, LISTING_CELLS, STOCK_CELLS = map(
    _sql_cells, (ORDER_COLUMNS, LISTING_COLUMNS, STOCK_COLUMNS)
)


async def _export(
    service: OrdersService,
    columns: Columns,
    filename: str,
    run: Callable[[Conn, queries.Output], Awaitable[None]],
) -> Stream:
    """A list's every row in one COPY whose CSV lines Postgres renders (no Python per row)."""

    async def copy(output: queries.Output) -> None:
        async with service.pool.acquire() as conn:
            await run(conn, output)

    return await copy_csv_stream([h for h, _ in columns], copy, filename=filename)


async def orders_csv(
    service: OrdersService,
    *,
    statuses: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    unmatched: bool | None,
) -> Stream:
    """Every order the filters select, newest first (as `GET /api/v1/orders` pages them)."""

    async def run(conn: Conn, output: queries.Output) -> None:
        await queries.export_orders(
            conn, ORDER_CELLS, output, statuses=statuses, since=since, until=until,
            unmatched=unmatched,
        )  # fmt: skip

    return await _export(service, ORDER_COLUMNS, "orders.csv", run)


async def listings_csv(service: OrdersService, *, statuses: Sequence[str] | None) -> Stream:
    """Every listing the filters select, by listing id."""

    async def run(conn: Conn, output: queries.Output) -> None:
        await queries.export_listings(conn, LISTING_CELLS, output, statuses=statuses)

    return await _export(service, LISTING_COLUMNS, "listings.csv", run)


async def stock_csv(service: OrdersService, where: queries.StockFilter) -> Stream:
    """Every stock unit the filters select, by id."""

    async def run(conn: Conn, output: queries.Output) -> None:
        await queries.export_stock(conn, STOCK_CELLS, output, where)

    return await _export(service, STOCK_COLUMNS, "stock.csv", run)
