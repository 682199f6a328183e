"""*Orders*: the list by status (overdue shipments highlighted), one order with its status
history and profit breakdown, and its shipping label (the PDF passed through)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Response, get
from litestar.response import Template

from soleflip.common.stockx import ORDER_STATUSES
from soleflip.console.backends import ServiceError, attempt
from soleflip.console.http._common import AnyRequest, Service, page, session_of


class OrdersController(Controller):
    path = "/orders"
    include_in_schema = False

    @get("/")
    async def list_orders(self, request: AnyRequest, service: Service) -> Template:
        session = session_of(request, service)
        query = {k: request.query_params.get(k, "").strip() for k in ("status", "cursor")}
        params = {**query, "limit": service.options.page_size}
        orders, ship = await asyncio.gather(
            attempt(service.backends.get("orders", "/api/v1/orders", **params)),
            attempt(service.backends.get("orders", "/api/v1/reports/need-to-ship", limit=500)),
        )
        overdue = {i["order_number"] for i in (ship.value or {}).get("items", []) if i["overdue"]}
        ship_by = {i["order_number"]: i["ship_by"] for i in (ship.value or {}).get("items", [])}
        return page(
            request,
            "orders.html",
            session,
            active="orders",
            orders=orders,
            query=query,
            statuses=ORDER_STATUSES,
            overdue=overdue,
            ship_by=ship_by,
        )

    @get("/{order_number:str}")
    async def order(self, request: AnyRequest, service: Service, order_number: str) -> Template:
        session = session_of(request, service)
        found = await attempt(service.backends.get("orders", f"/api/v1/orders/{order_number}"))
        unit: Any = None
        if found.value and found.value.get("stock_item_id"):
            unit = (
                await attempt(
                    service.backends.get("orders", f"/api/v1/stock/{found.value['stock_item_id']}")
                )
            ).value
        return page(request, "order.html", session, active="orders", order=found, unit=unit)

    @get("/{order_number:str}/label")
    async def label(
        self, request: AnyRequest, service: Service, order_number: str
    ) -> Response[bytes] | Template:
        session = session_of(request, service)
        try:
            answer = await service.backends.request(
                "orders", "GET", f"/api/v1/orders/{order_number}/shipping-label"
            )
        except ServiceError as exc:
            return page(
                request,
                "error.html",
                session,
                status_code=exc.status if exc.status and exc.status < 500 else 502,
                title="No label",
                detail=exc.readable,
            )
        safe = "".join(c for c in order_number if c.isalnum() or c in "-_") or "order"
        return Response(
            answer.content,
            media_type=answer.headers.get("content-type", "application/pdf"),
            headers={
                "Content-Disposition": f'attachment; filename="label-{safe}.pdf"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
