"""Render records as StockX's exact JSON shapes (every required key present, nulls not omitted)."""

from __future__ import annotations

from typing import Any

from soleflip.stockx_sim.catalog import Product, Variant
from soleflip.stockx_sim.clock import iso
from soleflip.stockx_sim.fees import payout
from soleflip.stockx_sim.records import Batch, BatchItem, Listing, Operation, Order
from soleflip.stockx_sim.sizes import CHART_TYPES
from soleflip.stockx_sim.world import World


def product_summary(product: Product) -> dict[str, Any]:
    """`SearchProduct`."""
    return {
        "productId": product.product_id,
        "urlKey": product.url_key,
        "styleId": product.style_id,
        "productType": product.product_type,
        "title": product.title,
        "brand": product.brand,
        "productAttributes": {
            "gender": product.gender,
            "season": product.season,
            "releaseDate": product.release_date,
            "retailPrice": product.retail_price,
            "colorway": product.colorway,
            "color": product.color,
        },
    }


def product_detail(product: Product) -> dict[str, Any]:
    """`Product`: the summary plus size chart and eligibility flags."""
    name, kind = product.default_chart
    return {
        **product_summary(product),
        "sizeChart": {
            "availableConversions": [{"name": n, "type": t} for n, t in CHART_TYPES],
            "defaultConversion": {"name": name, "type": kind},
        },
        "isFlexEligible": product.flex,
        "isDirectEligible": product.direct,
    }


def variant_body(variant: Variant) -> dict[str, Any]:
    """`ProductVariant` / `ProductVariantDetails` (the same keys)."""
    return {
        "productId": variant.product_id,
        "variantId": variant.variant_id,
        "variantName": variant.name,
        "variantValue": variant.value,
        "sizeChart": {
            "availableConversions": [{"size": s, "type": t} for s, t in variant.conversions],
            "defaultConversion": {"size": variant.value, "type": variant.default_type},
        },
        "gtins": [{"identifier": g, "type": t} for g, t in variant.gtins],
        "isFlexEligible": variant.flex,
        "isDirectEligible": variant.direct,
    }


def operation_url(base: str, op: Operation) -> str:
    return f"{base}/v2/selling/listings/{op.listing_id}/operations/{op.operation_id}"


def operation_body(op: Operation, base: str | None = None) -> dict[str, Any]:
    """`OperationApi`, or `ListingAsyncOperationResponse` when `base` is given."""
    body: dict[str, Any] = {
        "listingId": op.listing_id,
        "operationId": op.operation_id,
        "operationType": op.type,
        "operationStatus": op.status,
        "operationInitiatedBy": op.initiated_by,
        "operationInitiatedVia": op.initiated_via,
        "createdAt": iso(op.created_at),
        "updatedAt": iso(op.updated_at),
        "changes": op.changes,
        "error": op.error,
    }
    if base is not None:
        body["operationUrl"] = operation_url(base, op)
    return body


def _last_operation(op: Operation) -> dict[str, Any]:
    return {
        "operationId": op.operation_id,
        "operationType": op.type,
        "operationStatus": op.status,
        "operationInitiatedBy": op.initiated_by,
        "operationInitiatedVia": op.initiated_via,
        "operationCreatedAt": iso(op.created_at),
        "operationUpdatedAt": iso(op.updated_at),
        "changes": op.changes,
        "error": op.error,
    }


def _product_ref(world: World, product_id: str) -> dict[str, Any]:
    product = world.products.get(product_id)
    return {
        "productId": product_id,
        "productName": product.title if product else None,
        "styleId": product.style_id if product else None,
    }


def _variant_ref(world: World, variant_id: str) -> dict[str, Any]:
    variant = world.variants.get(variant_id)
    return {
        "variantId": variant_id,
        "variantName": variant.name if variant else variant_id,
        "variantValue": variant.value if variant else None,
    }


def _auth_details(order: Order | None) -> dict[str, Any] | None:
    if order is None or order.auth_status is None:
        return None
    return {"status": order.auth_status, "failureNotes": order.failure_notes}


def _inbound(display_id: str | None) -> dict[str, Any] | None:
    return None if display_id is None else {"inbound": {"displayId": display_id}}


def _ask(listing: Listing) -> dict[str, Any] | None:
    if listing.ask_id is None:
        return None
    return {
        "askId": listing.ask_id,
        "askCreatedAt": iso(listing.ask_created_at or listing.created_at),
        "askUpdatedAt": iso(listing.ask_updated_at or listing.updated_at),
        "askExpiresAt": iso(listing.expires_at),
    }


def _order_ref(order: Order | None) -> dict[str, Any] | None:
    if order is None:
        return None
    return {
        "orderNumber": order.order_number,
        "orderCreatedAt": iso(order.created_at),
        "orderStatus": order.status,
    }


def listing_body(world: World, listing: Listing, detailed: bool) -> dict[str, Any]:
    """`ListingResponse` (detailed) or the `ListListings` item (no payout, no lastOperation)."""
    order = world.orders.get(listing.order_number) if listing.order_number else None
    batch = None
    if listing.batch_id:
        batch = {"batchId": listing.batch_id, "taskId": listing.task_id or ""}
    body: dict[str, Any] = {
        "listingId": listing.listing_id,
        "status": listing.status,
        "amount": listing.amount,
        "currencyCode": listing.currency,
        "inventoryType": listing.inventory_type,
        "createdAt": iso(listing.created_at),
        "updatedAt": iso(listing.updated_at),
        "batch": batch,
        "ask": _ask(listing),
        "order": _order_ref(order),
        "product": _product_ref(world, listing.product_id),
        "variant": _variant_ref(world, listing.variant_id),
        "authenticationDetails": _auth_details(order),
        "initiatedShipments": _inbound(listing.inbound_id),
        "condition": "New",
        "conditionDescription": "Brand new, never worn",
    }
    if detailed:
        body["payout"] = payout(order.amount, order.currency) if order else None
        last = listing.operations[-1] if listing.operations else None
        body["lastOperation"] = _last_operation(last) if last else None
    return body


def shipping_document_url(base: str, order: Order) -> str:
    return f"{base}/v2/selling/orders/{order.order_number}/shipping-document/{order.shipping_id}"


def order_body(world: World, order: Order, base: str | None = None) -> dict[str, Any]:
    """`ListOrders` item, or `DetailedOrder` (with `shipment`) when `base` is given."""
    body: dict[str, Any] = {
        "orderNumber": order.order_number,
        "listingId": order.listing_id,
        "askId": order.ask_id,
        "amount": order.amount,
        "currencyCode": order.currency,
        "status": order.status,
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "product": _product_ref(world, order.product_id),
        "variant": _variant_ref(world, order.variant_id),
        "authenticationDetails": _auth_details(order),
        "payout": payout(order.amount, order.currency),
        "initiatedShipments": _inbound(order.inbound_id),
        "inventoryType": order.inventory_type,
    }
    if base is None:
        body["condition"] = "New"
        body["conditionDescription"] = "Brand new, never worn"
        return body
    tracking = order.tracking_number
    body["shipment"] = {
        "shipByDate": iso(order.ship_by),
        "trackingNumber": tracking,
        "trackingUrl": f"http://wwwapps.ups.com/etracking/tracking.cgi?tracknum={tracking}",
        "carrierCode": "UPS",
        "shippingLabelUrl": shipping_document_url(base, order),
        "shippingDocumentUrl": shipping_document_url(base, order),
    }
    return body


def batch_body(batch: Batch) -> dict[str, Any]:
    """`Batch*Response` / `GetListing*BatchResponse` (identical keys)."""
    counts: dict[str, int] = {}
    for item in batch.items:
        counts[item.status.lower()] = counts.get(item.status.lower(), 0) + 1
    return {
        "batchId": batch.batch_id,
        "status": batch.status,
        "completedAt": iso(batch.completed_at) if batch.completed_at else None,
        "createdAt": iso(batch.created_at),
        "updatedAt": iso(batch.updated_at),
        "totalItems": len(batch.items),
        "itemStatuses": counts,
    }


def batch_item_body(item: BatchItem) -> dict[str, Any]:
    """`GetListing{Create,Update,Delete}BatchItem`: result on success, error on failure."""
    body: dict[str, Any] = {
        "itemId": item.item_id,
        "status": item.status,
        "listingInput": item.listing_input,
    }
    if item.result is not None:
        body["result"] = item.result
    if item.error is not None:
        body["error"] = item.error
    return body
