"""Orders: a buyer matching a listing, then the StockX lifecycle driven by the sim clock.

Each order draws a fate when it is created (mostly the happy path, sometimes a failure branch)
from the world's seeded generator, so a seed replays the same story.
"""

from __future__ import annotations

from soleflip.stockx_sim.errors import bad_request, not_found
from soleflip.stockx_sim.records import Listing, Order
from soleflip.stockx_sim.views import listing_body, order_body
from soleflip.stockx_sim.world import World

_AUTH = ["SHIPPED", "RECEIVED", "AUTHENTICATING"]
PATHS: dict[str, list[str]] = {
    "happy": [*_AUTH, "AUTHENTICATED", "PAYOUTPENDING", "PAYOUTCOMPLETED", "COMPLETED"],
    "canceled": ["CANCELED"],
    "ccauthfailed": ["CCAUTHORIZATIONFAILED", "CANCELED"],
    "didnotship": ["DIDNOTSHIP"],
    "authfailed": [*_AUTH, "AUTHFAILED", "RETURNED"],
    "payoutfailed": [
        *_AUTH,
        "AUTHENTICATED",
        "PAYOUTPENDING",
        "PAYOUTFAILED",
        "PAYOUTCOMPLETED",
        "COMPLETED",
    ],
    "suspended": ["SHIPPED", "RECEIVED", "SUSPENDED", "CANCELED"],
}
_WEIGHTS = {
    "happy": 78,
    "canceled": 4,
    "ccauthfailed": 3,
    "didnotship": 4,
    "authfailed": 5,
    "payoutfailed": 3,
    "suspended": 3,
}
SHIP_WINDOW_S = 2 * 86_400
_LISTING_AFTER = {
    "COMPLETED": "COMPLETED",
    "CANCELED": "CANCELED",
    "DIDNOTSHIP": "CANCELED",
    "RETURNED": "CANCELED",
}


def _pick_listing(world: World, listing_id: str | None) -> Listing:
    if listing_id is not None:
        listing = world.listings.get(listing_id)
        if listing is None:
            raise not_found("Listing not found")
        if listing.status != "ACTIVE":
            raise bad_request(f"Listing is {listing.status}, only ACTIVE listings can sell")
        return listing
    active = sorted(
        (x for x in world.listings.values() if x.status == "ACTIVE"), key=lambda x: x.created_at
    )
    if not active:
        raise bad_request("No ACTIVE listing to buy")
    return world.rng.choice(active)


def _order_number(world: World, inventory: str) -> str:
    prefix = {"DIRECT": "06-", "FLEX": "02-"}.get(inventory)
    if prefix is not None:
        alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
        return prefix + "".join(world.rng.choice(alphabet) for _ in range(10))
    return f"{world.digits(9)}-{world.digits(9)}"


def buy(
    world: World, listing_id: str | None, fate: str | None = None, at: float | None = None
) -> Order:
    """A buyer buys a listing: the listing becomes MATCHED and a CREATED order appears."""
    if fate is not None and fate not in PATHS:
        raise bad_request(f"fate must be one of {', '.join(PATHS)}")
    listing = _pick_listing(world, listing_id)
    now = world.now() if at is None else at
    chosen = fate or world.rng.choices(list(_WEIGHTS), weights=list(_WEIGHTS.values()))[0]
    order = Order(
        order_number=_order_number(world, listing.inventory_type),
        listing_id=listing.listing_id,
        ask_id=listing.ask_id or world.digits(20),
        product_id=listing.product_id,
        variant_id=listing.variant_id,
        amount=listing.amount,
        currency=listing.currency,
        inventory_type=listing.inventory_type,
        status="CREATED",
        created_at=now,
        updated_at=now,
        ship_by=now + SHIP_WINDOW_S,
        shipping_id=f"S-{world.digits(8)}",
        tracking_number=f"1Z{world.digits(16)}",
        path=list(PATHS[chosen]),
        inbound_id=listing.inbound_id,
        next_at=now + world.config.order_step_s,
    )
    if order.path[0] == "DIDNOTSHIP":
        order.next_at = order.ship_by
    world.orders[order.order_number] = order
    listing.status, listing.active, listing.order_number = "MATCHED", False, order.order_number
    listing.updated_at = now
    world.emit("stockx.listing.updated", listing.listing_id, listing_body(world, listing, True))
    world.emit(
        "stockx.order.updated",
        order.order_number,
        order_body(world, order, world.config.public_url),
    )
    return order


def _enter(order: Order, status: str) -> None:
    order.status = status
    if status == "AUTHENTICATING":
        order.auth_status = "PENDING"
    elif status == "AUTHENTICATED":
        order.auth_status = "PASSED"
    elif status == "AUTHFAILED":
        order.auth_status, order.failure_notes = "FAILED", "Item did not pass authentication"


def step_orders(world: World, now: float) -> None:
    """Move every order whose next step is due, possibly several steps at once."""
    for order in world.orders.values():
        changed = False
        while order.path and order.next_at <= now:
            _enter(order, order.path.pop(0))
            order.updated_at = order.next_at
            order.next_at += world.config.order_step_s
            changed = True
        if not changed:
            continue
        listing = world.listings.get(order.listing_id or "")
        if listing is not None and order.status in _LISTING_AFTER:
            listing.status = _LISTING_AFTER[order.status]
            listing.updated_at = order.updated_at
            world.emit(
                "stockx.listing.updated", listing.listing_id, listing_body(world, listing, True)
            )
        world.emit(
            "stockx.order.updated",
            order.order_number,
            order_body(world, order, world.config.public_url),
        )
