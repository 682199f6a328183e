"""Controllers for orders, profit and sync: thin translators from HTTP to queries and handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from soleflip.common.db import UnitOfWork
from soleflip.common.errors import Conflict, NotFound
from soleflip.common.http import requires, wants_csv
from soleflip.common.stockx import Priority, shipping_id_from_url
from soleflip.orders import queries
from soleflip.orders.control import request_sync
from soleflip.orders.domain import NO_SALE_STATUSES
from soleflip.orders.handlers import LinkStock, link_stock_by_hand
from soleflip.orders.http._export import Format, orders_csv
from soleflip.orders.http._params import (
    actor_of,
    bad,
    bool_of,
    decode_cursor,
    encode_cursor,
    limit_of,
    statuses_of,
    time_of,
    window_of,
)
from soleflip.orders.http._views import OrderView, Page, order_view
from soleflip.orders.service import OrdersService

Service = NamedDependency[OrdersService]
_GROUPS = {"day": "day", "week": "week", "month": "month"}


async def _order(service: OrdersService, order_number: str) -> OrderView:
    async with service.pool.acquire() as conn:
        row = await queries.get_order(conn, order_number, service.options.base_currency)
        if row is None:
            raise NotFound(f"order {order_number} is not known")
        history = await queries.order_history(conn, order_number)
    return order_view(row, history)


class OrderController(Controller):
    """Orders as mirrored from StockX, with fees, payout, profit and status history."""

    path = "/api/v1/orders"
    tags = ["orders"]

    @get("/", guards=[requires("read")])
    async def list_orders(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        status: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        unmatched: FromQuery[str | None] = None,
        limit: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        format_: Format = None,
    ) -> Page | Stream:
        """Newest first; `unmatched=true` lists sales not linked to a stock item."""
        if wants_csv(request, format_):
            return await orders_csv(
                service,
                statuses=statuses_of(status),
                since=time_of("since", since),
                until=time_of("until", until),
                unmatched=bool_of("unmatched", unmatched),
            )
        size = limit_of(limit)
        after = decode_cursor(cursor, tuple[datetime, str])
        async with service.pool.acquire() as conn:
            rows = await queries.list_orders(
                conn,
                statuses=statuses_of(status),
                since=time_of("since", since),
                until=time_of("until", until),
                unmatched=bool_of("unmatched", unmatched),
                after=after,
                limit=size,
                base_currency=service.options.base_currency,
            )
        last = rows[-1] if len(rows) == size else None
        token = encode_cursor([last["created_at"], last["order_number"]]) if last else None
        return Page([order_view(r) for r in rows], token)

    @get("/{order_number:str}", guards=[requires("read")])
    async def get_order(self, service: Service, order_number: FromPath[str]) -> OrderView:
        """One order with its status history."""
        return await _order(service, order_number)

    @put("/{order_number:str}/stock-item", guards=[requires("write")])
    async def put_stock_item(
        self,
        service: Service,
        request: Request[Any, Any, Any],
        order_number: FromPath[str],
        data: JSONBody[StockLink],
    ) -> OrderView:
        """Fix which unit a sale sold, by hand (kept; the unit's history names who did it)."""
        unit = data.stock_item_id
        if unit is not None and not 1 <= unit <= 2**63 - 1:
            raise NotFound(f"stock item {unit} does not exist")
        async with UnitOfWork(service.pool) as uow:
            await link_stock_by_hand(
                LinkStock(order_number, unit), uow=uow, actor=actor_of(request)
            )
            await uow.commit()
        return await _order(service, order_number)

    @get(
        "/{order_number:str}/shipping-label",
        guards=[requires("read")],
        media_type="application/pdf",
        responses={
            200: ResponseSpec(
                data_container=bytes,
                description="StockX's shipping label",
                generate_examples=False,
                media_type="application/pdf",
            )
        },
    )
    async def get_shipping_label(self, service: Service, order_number: FromPath[str]) -> Stream:
        """StockX's label PDF, streamed through as it arrives."""
        async with service.pool.acquire() as conn:
            row = await queries.get_order(conn, order_number)
        if row is None:
            raise NotFound(f"order {order_number} is not known")
        shipment = row["shipment"] or {}
        shipping_id = shipping_id_from_url(shipment.get("shippingDocumentUrl"))
        if shipping_id is None:
            raise Conflict(f"order {order_number} has no shipping document (yet)")
        chunks = service.stockx.get_shipping_document(
            order_number, shipping_id, priority=Priority.USER_WRITE
        )
        first = await anext(chunks)  # errors surface as problem+json before streaming starts

        async def body() -> AsyncIterator[bytes]:
            yield first
            async for chunk in chunks:
                yield chunk

        filename = f"stockx-label-{order_number}.pdf"
        return Stream(
            body(),
            media_type="application/pdf",
            headers={"content-disposition": f'attachment; filename="{filename}"'},
        )


class StockLink(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The unit a sale sold (null: none)."""

    stock_item_id: int | None


class ProfitController(Controller):
    """Realised profit per period and currency."""

    path = "/api/v1/profit"
    tags = ["orders"]

    @get("/", guards=[requires("read")])
    async def get_profit(
        self,
        service: Service,
        from_: Annotated[str | None, QueryParameter(name="from")] = None,
        to: FromQuery[str | None] = None,
        group_by: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """`from`/`to` (default: the last 30 days) and `group_by` day, week or month."""
        unit = _GROUPS.get(group_by or "day")
        if unit is None:
            raise bad("group_by", "must be day, week or month")
        start, end = window_of(from_, to, now=service.now())
        async with service.pool.acquire() as conn:
            rows = await queries.profit(
                conn,
                unit=unit,
                start=start,
                end=end,
                excluded=sorted(NO_SALE_STATUSES),
                base_currency=service.options.base_currency,
            )
        return {"group_by": unit, "from": start, "to": end, "rows": [dict(r) for r in rows]}


class SyncRequest(msgspec.Struct, frozen=True):
    what: str = "all"


class SyncController(Controller):
    """Ask the poller leader (on any replica) to run now instead of at its next interval."""

    path = "/api/v1/sync"
    tags = ["orders"]

    @post("/", guards=[requires("write")], status_code=202)
    async def request_sync(
        self, service: Service, data: JSONBody[SyncRequest]
    ) -> Response[dict[str, str]]:
        # Whichever replica took the request, the poll runs in the leader's process.
        await request_sync(service, data.what)
        return Response({"status": "requested", "what": data.what}, status_code=202)
