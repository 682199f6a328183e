"""Order endpoints (O1-O5): active and historical orders, one order, shipping documents."""

from __future__ import annotations

from collections.abc import AsyncIterator

from soleflip.common.stockx._budget import Priority
from soleflip.common.stockx._errors import StockXUnexpectedResponse, is_json, looks_like_html
from soleflip.common.stockx._filters import ActiveOrderFilters, OrderHistoryFilters
from soleflip.common.stockx._models_orders import Order, OrdersPage, OrderSummary, ShipmentDetails
from soleflip.common.stockx._pagination import MAX_PAGES, iter_page_items
from soleflip.common.stockx._transport import Transport, call

_ORDERS = Priority.ORDER_SYNC
_DOCUMENT = "/selling/orders/{orderNumber}/shipping-document/{shippingId}"


class OrdersApi:
    """Seller-side orders and their shipping documents."""

    _t: Transport

    async def list_active_orders(
        self,
        filters: ActiveOrderFilters | None = None,
        *,
        page_number: int = 1,
        page_size: int = 10,
        priority: Priority = _ORDERS,
    ) -> OrdersPage:
        params = (filters or ActiveOrderFilters()).params()
        params |= {"pageNumber": page_number, "pageSize": page_size}
        request = call("GET", "/selling/orders/active", priority, params=params)
        return await self._t.json(request, OrdersPage)

    def iter_active_orders(
        self,
        filters: ActiveOrderFilters | None = None,
        *,
        page_size: int = 100,
        max_pages: int = MAX_PAGES,
        priority: Priority = _ORDERS,
    ) -> AsyncIterator[OrderSummary]:
        async def fetch(number: int) -> OrdersPage:
            return await self.list_active_orders(
                filters, page_number=number, page_size=page_size, priority=priority
            )

        return iter_page_items(fetch, lambda page: page.orders, max_pages)

    async def list_order_history(
        self,
        filters: OrderHistoryFilters | None = None,
        *,
        page_number: int = 1,
        page_size: int = 10,
        priority: Priority = _ORDERS,
    ) -> OrdersPage:
        params = (filters or OrderHistoryFilters()).params()
        params |= {"pageNumber": page_number, "pageSize": page_size}
        request = call("GET", "/selling/orders/history", priority, params=params)
        return await self._t.json(request, OrdersPage)

    def iter_order_history(
        self,
        filters: OrderHistoryFilters | None = None,
        *,
        page_size: int = 100,
        max_pages: int = MAX_PAGES,
        priority: Priority = _ORDERS,
    ) -> AsyncIterator[OrderSummary]:
        async def fetch(number: int) -> OrdersPage:
            return await self.list_order_history(
                filters, page_number=number, page_size=page_size, priority=priority
            )

        return iter_page_items(fetch, lambda page: page.orders, max_pages)

    async def get_order(self, order_number: str, *, priority: Priority = _ORDERS) -> Order:
        request = call(
            "GET", "/selling/orders/{orderNumber}", priority, path={"orderNumber": order_number}
        )
        return await self._t.json(request, Order)

    async def get_shipment_details(
        self, order_number: str, *, priority: Priority = _ORDERS
    ) -> ShipmentDetails:
        """The shipping documents a DIRECT order needs (StockX answers 400 for other orders)."""
        request = call(
            "GET",
            "/selling/orders/{orderNumber}/shipping-document",
            priority,
            path={"orderNumber": order_number},
        )
        return await self._t.json(request, ShipmentDetails)

    async def get_shipping_document(
        self, order_number: str, shipping_id: str, *, priority: Priority = _ORDERS
    ) -> AsyncIterator[bytes]:
        """Stream the shipping label PDF. `shipping_id` is `order.shipment.shipping_id`.

        A JSON or HTML body in place of the PDF raises `StockXUnexpectedResponse`.
        """
        request = call(
            "GET",
            _DOCUMENT,
            priority,
            stream=True,
            accept="application/pdf",
            path={"orderNumber": order_number, "shippingId": shipping_id},
        )
        response = await self._t.send(request)
        try:
            content_type = response.headers.get("content-type", "")
            first = True
            async for chunk in response.aiter_bytes():
                bad_type = is_json(content_type) or "html" in content_type.lower()
                if first and (bad_type or looks_like_html(chunk)):
                    raise StockXUnexpectedResponse(
                        f"StockX sent {content_type or 'no content type'} instead of a PDF: "
                        f"{chunk[:200].decode('utf-8', 'replace')!r}",
                        status_code=response.status_code,
                        endpoint=_DOCUMENT,
                    )
                first = False
                yield chunk
        finally:
            await response.aclose()
