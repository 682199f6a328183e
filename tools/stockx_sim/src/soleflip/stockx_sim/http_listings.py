"""`/v2/selling/listings*`: list, create, read, update, delete, (de)activate, operations."""

from __future__ import annotations

import base64
from typing import Any

from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath

from soleflip.stockx_sim.errors import bad_request, not_found
from soleflip.stockx_sim.listings import ask_fields, new_listing, start_operation, writable
from soleflip.stockx_sim.params import (
    base_url,
    bool_param,
    csv,
    date_param,
    json_body,
    page,
    page_params,
    world_of,
)
from soleflip.stockx_sim.records import Listing
from soleflip.stockx_sim.views import listing_body, operation_body

Req = Request[Any, Any, Any]
LISTING_FILTER_STATUSES = ("INACTIVE", "ACTIVE", "CANCELED", "MATCHED", "COMPLETED")
INVENTORY_TYPES = ("STANDARD", "FLEX", "DIRECT")
_ASK_KEYS = {"amount", "currencyCode", "expiresAt"}


def _matches(request: Req, listing: Listing, now: float) -> bool:
    checks = [
        (csv(request, "productIds"), listing.product_id),
        (csv(request, "variantIds"), listing.variant_id),
        (csv(request, "batchIds"), listing.batch_id),
        (csv(request, "listingStatuses", LISTING_FILTER_STATUSES), listing.status),
        (csv(request, "inventoryTypes", INVENTORY_TYPES), listing.inventory_type),
        (csv(request, "initiatedShipmentDisplayIds"), listing.inbound_id),
    ]
    if any(allowed is not None and value not in allowed for allowed, value in checks):
        return False
    start, end = date_param(request, "fromDate"), date_param(request, "toDate")
    if (start is not None and listing.created_at < start) or (
        end is not None and listing.created_at >= end + 86_400
    ):
        return False
    return (listing.expires_at <= now) == bool_param(request, "isExpired", False)


@get("/v2/selling/listings")
async def list_listings(request: Req) -> Response[Any]:
    world = world_of(request)
    number, size = page_params(request, 100)
    now = world.now()
    found = sorted(
        (x for x in world.listings.values() if x.status != "DELETED" and _matches(request, x, now)),
        key=lambda x: x.created_at,
        reverse=True,
    )
    return Response(page(found, number, size, "listings", lambda x: listing_body(world, x, False)))


@post("/v2/selling/listings")
async def create_listing(request: Req) -> Response[Any]:
    world = world_of(request)
    allowed = {"amount", "variantId", "currencyCode", "expiresAt", "active", "inventoryType"}
    listing = new_listing(world, await json_body(request, allowed))
    return Response(operation_body(listing.operations[-1], base_url(request)), status_code=201)


def _listing(request: Req, listing_id: str) -> Listing:
    listing = world_of(request).listings.get(listing_id)
    if listing is None:
        raise not_found("Listing not found")
    return listing


@get("/v2/selling/listings/{listing_id:str}")
async def get_listing(request: Req, listing_id: FromPath[str]) -> Response[Any]:
    return Response(listing_body(world_of(request), _listing(request, listing_id), True))


async def _write(
    request: Req, listing_id: str, kind: str, body_keys: set[str] | None
) -> Response[Any]:
    world = world_of(request)
    listing = writable(world, listing_id)
    fields: dict[str, Any] = {}
    if body_keys is not None:
        fields = ask_fields(world, await json_body(request, body_keys), partial=True)
    pending = any(op.status == "PENDING" for op in listing.operations)
    if kind == "DEACTIVATE" and listing.status == "INACTIVE" and not pending:
        raise bad_request("Listing is already inactive")
    op = start_operation(world, listing, kind, fields)
    return Response(operation_body(op, base_url(request)))


@patch("/v2/selling/listings/{listing_id:str}")
async def update_listing(request: Req, listing_id: FromPath[str]) -> Response[Any]:
    return await _write(request, listing_id, "UPDATE", _ASK_KEYS)


@delete("/v2/selling/listings/{listing_id:str}", status_code=200)
async def delete_listing(request: Req, listing_id: FromPath[str]) -> Response[Any]:
    return await _write(request, listing_id, "DELETE", None)


@put("/v2/selling/listings/{listing_id:str}/activate")
async def activate_listing(request: Req, listing_id: FromPath[str]) -> Response[Any]:
    return await _write(request, listing_id, "ACTIVATE", _ASK_KEYS)


@put("/v2/selling/listings/{listing_id:str}/deactivate")
async def deactivate_listing(request: Req, listing_id: FromPath[str]) -> Response[Any]:
    return await _write(request, listing_id, "DEACTIVATE", None)


@get("/v2/selling/listings/{listing_id:str}/operations/{operation_id:str}")
async def get_operation(
    request: Req, listing_id: FromPath[str], operation_id: FromPath[str]
) -> Response[Any]:
    listing = _listing(request, listing_id)
    for op in listing.operations:
        if op.operation_id == operation_id:
            return Response(operation_body(op))
    raise not_found("Operation not found")


def _cursor(raw: str | None) -> int:
    if not raw:
        return 0
    try:
        return int(base64.urlsafe_b64decode(raw.encode()).decode().removeprefix("offset:"))
    except ValueError:
        raise bad_request("cursor is invalid") from None


@get("/v2/selling/listings/{listing_id:str}/operations")
async def list_operations(request: Req, listing_id: FromPath[str]) -> Response[Any]:
    listing = _listing(request, listing_id)
    _, size = page_params(request, 100)
    size = size if request.query_params.get("pageSize") else 100
    start = _cursor(request.query_params.get("cursor"))
    chunk = listing.operations[start : start + size]
    more = start + size < len(listing.operations)
    cursor = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode() if more else None
    return Response({"nextCursor": cursor, "operations": [operation_body(op) for op in chunk]})


LISTING_HANDLERS = [
    list_listings,
    create_listing,
    get_listing,
    update_listing,
    delete_listing,
    activate_listing,
    deactivate_listing,
    get_operation,
    list_operations,
]
