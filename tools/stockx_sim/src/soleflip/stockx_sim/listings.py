"""Listing writes: validated synchronously, then a PENDING operation settles on the sim clock."""

from __future__ import annotations

import re
from typing import Any

from soleflip.stockx_sim.clock import iso, parse_iso
from soleflip.stockx_sim.errors import ApiError, bad_request, not_found
from soleflip.stockx_sim.market import LISTING_CURRENCIES
from soleflip.stockx_sim.records import Listing, Operation
from soleflip.stockx_sim.views import listing_body
from soleflip.stockx_sim.world import World

DEFAULT_EXPIRY_S = 999 * 86_400
_FINAL = {"MATCHED", "COMPLETED", "DELETED", "CANCELED"}
_AMOUNT = re.compile(r"^[1-9]\d{0,8}$")


def check_amount(raw: object) -> str:
    if not isinstance(raw, str) or not _AMOUNT.match(raw):
        raise bad_request('amount must be a whole number string, e.g. "150"')
    return raw


def check_currency(raw: object) -> str:
    if raw not in LISTING_CURRENCIES:
        raise bad_request(f"currencyCode must be one of {', '.join(LISTING_CURRENCIES)}")
    return str(raw)


def check_expiry(world: World, raw: object) -> float:
    if not isinstance(raw, str):
        raise bad_request("expiresAt must be an ISO 8601 timestamp")
    try:
        value = parse_iso(raw)
    except ValueError:
        raise bad_request("expiresAt must be an ISO 8601 timestamp") from None
    if value <= world.now():
        raise bad_request("expiresAt must be in the future")
    return value


def ask_fields(world: World, body: dict[str, Any], partial: bool) -> dict[str, Any]:
    """Validate `amount`, `currencyCode`, `expiresAt`; returns the changes to apply."""
    fields: dict[str, Any] = {}
    if "amount" in body or not partial:
        fields["amount"] = check_amount(body.get("amount"))
    if "currencyCode" in body:
        fields["currency"] = check_currency(body["currencyCode"])
    if "expiresAt" in body:
        fields["expires_at"] = check_expiry(world, body["expiresAt"])
    return fields


def _ask_data(fields: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if "amount" in fields:
        data["amount"] = fields["amount"]
    if "currency" in fields:
        data["currency"] = fields["currency"]
    if "expires_at" in fields:
        data["expiresAt"] = iso(fields["expires_at"])
    return data


def start_operation(world: World, listing: Listing, kind: str, apply: dict[str, Any]) -> Operation:
    """Record a PENDING operation of `kind` that will apply `apply` when it settles."""
    now = world.now()
    ask = _ask_data(apply)
    changes: dict[str, Any] = {"additions": {}, "updates": {}, "removals": {}}
    if kind == "CREATE":
        changes["additions"] = {"active": apply.get("active", True), "askData": ask}
    elif kind == "DELETE":
        changes["removals"] = {"active": True}
    else:
        changes["updates"] = {**({"askData": ask} if ask else {}), "updatedAt": iso(now)}
        if kind in ("ACTIVATE", "DEACTIVATE"):
            changes["updates"]["active"] = kind == "ACTIVATE"
    op = Operation(
        operation_id=world.new_id(),
        listing_id=listing.listing_id,
        type=kind,
        status="PENDING",
        created_at=now,
        updated_at=now,
        settle_at=now + world.config.settle_delay_s,
        changes=changes,
        apply=apply,
    )
    listing.operations.append(op)
    return op


def new_listing(world: World, body: dict[str, Any]) -> Listing:
    """Validate a `CreateListingInput` and create the (not yet active) listing."""
    variant_id = body.get("variantId")
    if not isinstance(variant_id, str) or variant_id not in world.variants:
        raise bad_request("variantId is not a known variant")
    variant = world.variants[variant_id]
    fields = ask_fields(world, body, partial=False)
    inventory = body.get("inventoryType", "STANDARD")
    if inventory not in ("STANDARD", "DIRECT"):
        raise bad_request("inventoryType must be STANDARD or DIRECT")
    if inventory == "DIRECT" and not variant.direct:
        raise bad_request("This variant is not eligible for DIRECT")
    active = body.get("active", True)
    if not isinstance(active, bool):
        raise bad_request("active must be a boolean")
    now = world.now()
    listing = Listing(
        listing_id=world.new_id(),
        product_id=variant.product_id,
        variant_id=variant_id,
        amount=fields["amount"],
        currency=fields.get("currency", "USD"),
        inventory_type=str(inventory),
        status="INACTIVE",
        active=False,
        created_at=now,
        updated_at=now,
        expires_at=fields.get("expires_at", now + DEFAULT_EXPIRY_S),
    )
    world.listings[listing.listing_id] = listing
    start_operation(world, listing, "CREATE", {**fields, "active": active})
    return listing


def writable(world: World, listing_id: str) -> Listing:
    """The listing, if a write may still change it (sold or deleted ones refuse: 400)."""
    listing = world.listings.get(listing_id)
    if listing is None:
        raise not_found("Listing not found")
    if listing.status in _FINAL:
        raise ApiError(
            400,
            f"Listing {listing_id} can not perform this action: it is already "
            f"{listing.status.lower()}",
        )
    return listing


def settle(world: World, listing: Listing, op: Operation) -> None:
    """Apply a due operation: SUCCEEDED with its changes, or FAILED with an error."""
    now = world.now()
    op.updated_at = now
    failure = None
    if listing.status in _FINAL and op.type != "CREATE":
        failure = f"Listing can not perform this action: it is already {listing.status.lower()}"
    elif world.fault_rng.random() < world.faults.operation_failure_rate:
        failure = "The operation could not be completed. Please try again."
    if failure is not None:
        op.status, op.error = "FAILED", failure
        if op.type == "CREATE":
            listing.status = "DELETED"
    else:
        op.status = "SUCCEEDED"
        apply_changes(world, listing, op.type, op.apply)
    listing.updated_at = now
    world.emit("stockx.listing.updated", listing.listing_id, listing_body(world, listing, True))


def apply_changes(world: World, listing: Listing, kind: str, apply: dict[str, Any]) -> None:
    """Mutate the listing as a succeeded operation of `kind` does."""
    now = world.now()
    for key in ("amount", "currency", "expires_at"):
        if key in apply:
            setattr(listing, key, apply[key])
    if kind == "DELETE":
        listing.status, listing.active = "DELETED", False
        return
    active = {"CREATE": apply.get("active", True), "ACTIVATE": True, "DEACTIVATE": False}.get(
        kind, apply.get("active", listing.active)
    )
    listing.active = bool(active)
    if kind == "ACTIVATE" and listing.expires_at <= now:
        listing.expires_at = now + DEFAULT_EXPIRY_S  # reactivating an expired ask renews it
    listing.status = "ACTIVE" if listing.active else "INACTIVE"
    if listing.ask_id is None:
        listing.ask_id, listing.ask_created_at = world.digits(20), now
    listing.ask_updated_at = now
