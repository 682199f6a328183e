"""Batch listing writes: validated on submit, then QUEUED -> IN_PROGRESS -> COMPLETED.

Items succeed or fail on their own; a create item with `quantity: n` expands into n items (one
listing each). Listings made by a batch carry `batch{batchId, taskId}`.
"""

from __future__ import annotations

from typing import Any

from soleflip.stockx_sim.clock import iso
from soleflip.stockx_sim.errors import ApiError, bad_request
from soleflip.stockx_sim.listings import (
    DEFAULT_EXPIRY_S,
    apply_changes,
    ask_fields,
    new_listing,
    writable,
)
from soleflip.stockx_sim.records import Batch, BatchItem
from soleflip.stockx_sim.views import listing_body
from soleflip.stockx_sim.world import World

KINDS = ("create-listing", "update-listing", "delete-listing")
MAX_ITEMS = 100


def _items(body: Any, kind: str) -> list[dict[str, Any]]:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise bad_request("items must be a non-empty array of objects")
    if kind != "create-listing" and len(items) > MAX_ITEMS:
        raise bad_request(f"items must not contain more than {MAX_ITEMS} entries")
    return items


def _create_items(world: World, items: list[dict[str, Any]]) -> list[BatchItem]:
    out = []
    for raw in items:
        quantity = raw.get("quantity")
        if not isinstance(quantity, int | float) or quantity < 1 or int(quantity) != quantity:
            raise bad_request("quantity must be a positive whole number")
        if not isinstance(raw.get("variantId"), str) or not isinstance(raw.get("amount"), str):
            raise bad_request("variantId and amount are required strings")
        listing_input = {
            "active": raw.get("active", True),
            "currencyCode": raw.get("currencyCode", "USD"),
            "variantId": raw["variantId"],
            "expiresAt": raw.get("expiresAt"),
            "amount": raw["amount"],
        }
        out += [
            BatchItem(world.new_id(), "QUEUED", raw, dict(listing_input))
            for _ in range(int(quantity))
        ]
    return out


def _update_items(world: World, items: list[dict[str, Any]]) -> list[BatchItem]:
    out = []
    for raw in items:
        if not isinstance(raw.get("listingId"), str):
            raise bad_request("listingId is required")
        listing_input = {"active": raw.get("active"), "listingId": raw["listingId"]}
        for key in ("currencyCode", "expiresAt", "amount"):
            if isinstance(raw.get(key), str):
                listing_input[key] = raw[key]
        out.append(BatchItem(world.new_id(), "QUEUED", raw, listing_input))
    return out


def _delete_items(world: World, items: list[dict[str, Any]]) -> list[BatchItem]:
    if not all(isinstance(raw.get("listingId"), str) for raw in items):
        raise bad_request("listingId is required")
    return [BatchItem(world.new_id(), "QUEUED", raw, {"id": raw["listingId"]}) for raw in items]


def submit(world: World, kind: str, body: Any) -> Batch:
    """Validate a batch request and queue it."""
    items = _items(body, kind)
    build = {
        "create-listing": _create_items,
        "update-listing": _update_items,
        "delete-listing": _delete_items,
    }[kind]
    now, delay = world.now(), world.config.settle_delay_s
    batch = Batch(
        batch_id=world.new_id(),
        kind=kind,
        status="QUEUED",
        created_at=now,
        updated_at=now,
        start_at=now + delay / 2,
        done_at=now + delay,
        items=build(world, items),
    )
    world.batches[batch.batch_id] = batch
    return batch


def _run_item(world: World, batch: Batch, item: BatchItem) -> None:
    raw = item.request
    if batch.kind == "create-listing":
        body = {k: v for k, v in raw.items() if k != "quantity"}
        listing = new_listing(world, body)
        listing.operations[-1].status = "SUCCEEDED"
        apply_changes(world, listing, "CREATE", listing.operations[-1].apply)
        if "expiresAt" not in raw:
            item.listing_input["expiresAt"] = iso(listing.created_at + DEFAULT_EXPIRY_S)
    else:
        listing = writable(world, raw["listingId"])
        if batch.kind == "delete-listing":
            apply_changes(world, listing, "DELETE", {})
        else:
            fields = ask_fields(world, raw, partial=True)
            if isinstance(raw.get("active"), bool):
                fields["active"] = raw["active"]
            apply_changes(world, listing, "UPDATE", fields)
    listing.batch_id, listing.task_id = batch.batch_id, item.item_id
    listing.updated_at = world.now()
    item.status, item.result = (
        "COMPLETED",
        {"askId": listing.ask_id, "listingId": listing.listing_id},
    )
    world.emit("stockx.listing.updated", listing.listing_id, listing_body(world, listing, True))


def step_batches(world: World, now: float) -> None:
    """Advance due batches; each item is processed on its own."""
    for batch in world.batches.values():
        if batch.status == "QUEUED" and now >= batch.start_at:
            batch.status, batch.updated_at = "IN_PROGRESS", now
        if batch.status != "IN_PROGRESS" or now < batch.done_at:
            continue
        for item in batch.items:
            try:
                _run_item(world, batch, item)
            except ApiError as exc:
                item.status, item.error = "FAILED", exc.message
        batch.status, batch.updated_at, batch.completed_at = "COMPLETED", now, now
