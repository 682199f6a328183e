"""Time-driven behaviour: `tick` settles whatever is due; `seed_world` builds a seeded account."""

from __future__ import annotations

from soleflip.stockx_sim.batches import step_batches
from soleflip.stockx_sim.ingestion import settle_ingestions
from soleflip.stockx_sim.listings import DEFAULT_EXPIRY_S, apply_changes, settle, start_operation
from soleflip.stockx_sim.market import convert, usd_prices
from soleflip.stockx_sim.orders import buy, step_orders
from soleflip.stockx_sim.quotes import emit_market_moves
from soleflip.stockx_sim.records import Listing
from soleflip.stockx_sim.views import listing_body
from soleflip.stockx_sim.world import World

_DAY = 86_400.0


def tick(world: World) -> None:
    """Bring the world up to the sim clock's now (called on every request and advance)."""
    now = world.now()
    for listing in list(world.listings.values()):
        for op in listing.operations:
            if op.status == "PENDING" and op.settle_at <= now:
                settle(world, listing, op)
        if listing.status == "ACTIVE" and listing.expires_at <= now:
            listing.status, listing.active, listing.updated_at = "INACTIVE", False, now
            world.emit(
                "stockx.listing.updated", listing.listing_id, listing_body(world, listing, True)
            )
    step_batches(world, now)
    step_orders(world, now)
    settle_ingestions(world, now)
    emit_market_moves(world, now)


def _seed_listing(world: World, created: float, currency: str = "USD") -> Listing:
    variant = world.rng.choice(sorted(world.variants.values(), key=lambda v: v.variant_id))
    product = world.products[variant.product_id]
    ask = usd_prices(world.config.seed, product, variant, created)["lowest_ask"]
    amount = convert((ask or product.base_usd) * world.rng.uniform(0.95, 1.15), currency)
    roll = world.rng.random()
    inventory = "STANDARD"
    if variant.direct and roll < 0.2:
        inventory = "DIRECT"
    elif variant.flex and roll > 0.85:
        inventory = "FLEX"  # sent in through StockX Pro; cannot be created over the API
    listing = Listing(
        listing_id=world.new_id(),
        product_id=product.product_id,
        variant_id=variant.variant_id,
        amount=str(amount),
        currency=currency,
        inventory_type=inventory,
        status="INACTIVE",
        active=False,
        created_at=created,
        updated_at=created,
        expires_at=created + DEFAULT_EXPIRY_S,
    )
    if inventory == "FLEX":
        listing.inbound_id = f"IS-{world.digits(8)}"
    world.listings[listing.listing_id] = listing
    op = start_operation(world, listing, "CREATE", {"amount": listing.amount, "active": True})
    op.created_at = op.updated_at = created
    op.status = "SUCCEEDED"
    apply_changes(world, listing, "CREATE", op.apply)
    listing.ask_created_at = listing.ask_updated_at = created
    return listing


def seed_world(world: World, seed: int, products: int, listings: int, orders: int) -> None:
    """Rebuild the catalog and an account with listings and orders spread over the past."""
    world.config.seed, world.config.products = seed, products
    world.config.listings, world.config.orders = listings, orders
    world.reset_catalog(seed, products)
    relay, world.relay_enabled = world.relay_enabled, False  # history is not news
    now = world.now()
    currencies = ["USD", "USD", "EUR", "GBP"]
    for index in range(listings):
        listing = _seed_listing(
            world, now - world.rng.uniform(1, 60) * _DAY, world.rng.choice(currencies)
        )
        if index % 7 == 3:
            listing.status, listing.active = "INACTIVE", False
        elif index % 11 == 5:
            listing.expires_at = now - world.rng.uniform(1, 5) * _DAY
            listing.status, listing.active = "INACTIVE", False
    for _ in range(orders):
        sold_at = now - world.rng.uniform(0.05, 4) * _DAY
        listing = _seed_listing(
            world, sold_at - world.rng.uniform(1, 20) * _DAY, world.rng.choice(currencies)
        )
        buy(world, listing.listing_id, at=sold_at)
    step_orders(world, now)
    world.relay_enabled = relay
