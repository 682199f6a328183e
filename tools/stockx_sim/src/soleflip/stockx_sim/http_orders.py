"""`/v2/selling/orders*`: active and historical order pages, detail, shipping documents."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from soleflip.common.stockx import ACTIVE_ORDER_STATUSES, HISTORICAL_ORDER_STATUSES
from soleflip.stockx_sim.errors import bad_request, not_found
from soleflip.stockx_sim.params import base_url, csv, date_param, page, page_params, world_of
from soleflip.stockx_sim.pdf import label_pdf
from soleflip.stockx_sim.records import Order
from soleflip.stockx_sim.views import order_body
from soleflip.stockx_sim.world import World

Req = Request[Any, Any, Any]
_INVENTORY = ("STANDARD", "FLEX", "DIRECT", "DFS")


def _filtered(request: Req, world: World, statuses: tuple[str, ...]) -> list[Order]:
    wanted = csv(request, "orderStatus", statuses)
    inventory = csv(request, "inventoryTypes", _INVENTORY)
    product_id = request.query_params.get("productId")
    variant_id = request.query_params.get("variantId")
    shipments = csv(request, "initiatedShipmentDisplayIds")
    found = []
    for order in world.orders.values():
        if order.status not in statuses or (wanted and order.status not in wanted):
            continue
        if (inventory and order.inventory_type not in inventory) or (
            shipments and order.inbound_id not in shipments
        ):
            continue
        if (product_id and order.product_id != product_id) or (
            variant_id and order.variant_id != variant_id
        ):
            continue
        found.append(order)
    return found


@get("/v2/selling/orders/active")
async def list_active_orders(request: Req) -> Response[Any]:
    world = world_of(request)
    number, size = page_params(request, 100)
    sort = request.query_params.get("sortOrder") or "CREATEDAT"
    if sort not in ("CREATEDAT", "SHIPBYDATE"):
        raise bad_request("sortOrder must be CREATEDAT or SHIPBYDATE")
    found = _filtered(request, world, ACTIVE_ORDER_STATUSES)
    if sort == "SHIPBYDATE":
        found.sort(key=lambda o: o.ship_by)
    else:
        found.sort(key=lambda o: o.created_at, reverse=True)
    return Response(page(found, number, size, "orders", lambda o: order_body(world, o)))


@get("/v2/selling/orders/history")
async def list_order_history(request: Req) -> Response[Any]:
    world = world_of(request)
    number, size = page_params(request, 100)
    start, end = date_param(request, "fromDate"), date_param(request, "toDate")
    found = [
        o
        for o in _filtered(request, world, HISTORICAL_ORDER_STATUSES)
        if (start is None or o.created_at >= start) and (end is None or o.created_at < end + 86_400)
    ]
    found.sort(key=lambda o: o.created_at, reverse=True)
    return Response(page(found, number, size, "orders", lambda o: order_body(world, o)))


def _order(request: Req, order_number: str) -> Order:
    order = world_of(request).orders.get(order_number)
    if order is None:
        raise not_found("Order not found")
    return order


@get("/v2/selling/orders/{order_number:str}")
async def get_order(request: Req, order_number: FromPath[str]) -> Response[Any]:
    order = _order(request, order_number)
    return Response(order_body(world_of(request), order, base_url(request)))


@get("/v2/selling/orders/{order_number:str}/shipping-document/{shipping_id:str}")
async def get_shipping_label(
    request: Req, order_number: FromPath[str], shipping_id: FromPath[str]
) -> Response[Any]:
    order = _order(request, order_number)
    if shipping_id != order.shipping_id:
        raise not_found("Shipping document not found")
    pdf = label_pdf(f"StockX {order.order_number} {order.tracking_number}")
    return Response(pdf, media_type="application/pdf")


@get("/v2/selling/orders/{order_number:str}/shipping-document")
async def get_shipping_documents(request: Req, order_number: FromPath[str]) -> Response[Any]:
    order = _order(request, order_number)
    if order.inventory_type != "DIRECT":
        raise bad_request("Shipping documents are only available for DIRECT orders")
    label = f"{base_url(request)}/v2/selling/orders/{order.order_number}/shipping-document/"
    label += order.shipping_id
    return Response(
        {
            "shippingDocuments": {
                "requiredDocuments": {"shippingLabel": label},
                "message": "Print the label and attach it to the outside of the box.",
                "additionalDocumentsRequired": False,
                "thermalLabelOnly": label,
                "sellerShippingInstructions": {
                    "normalLabel": {"en": label},
                    "thermalLabel": {"en": label},
                },
            }
        }
    )


ORDER_HANDLERS = [
    list_active_orders,
    list_order_history,
    get_order,
    get_shipping_label,
    get_shipping_documents,
]
