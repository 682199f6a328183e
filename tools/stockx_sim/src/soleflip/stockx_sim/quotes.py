"""Market quotes for a variant: the drifting seeded book, control-plane overrides, own asks."""

from __future__ import annotations

from typing import Any

from soleflip.stockx_sim.catalog import Product, Variant
from soleflip.stockx_sim.market import convert, market_body, usd_prices
from soleflip.stockx_sim.world import World


def quote(
    world: World, product: Product, variant: Variant, currency: str, own: bool
) -> dict[str, Any]:
    """Market data for one variant; with `own`, the seller's live asks count (C5, not C6)."""
    override = world.market_overrides.get((variant.variant_id, currency))
    usd_override = world.market_overrides.get((variant.variant_id, "USD"))
    if override is not None:
        ask, bid = override["lowest_ask"], override["highest_bid"]
    elif usd_override is not None:
        ask = convert(usd_override["lowest_ask"], currency)
        bid = convert(usd_override["highest_bid"], currency)
    else:
        usd = usd_prices(world.config.seed, product, variant, world.now())
        ask, bid = convert(usd["lowest_ask"], currency), convert(usd["highest_bid"], currency)
    if own:
        mine = [
            int(x.amount)
            for x in world.listings.values()
            if x.variant_id == variant.variant_id
            and x.status == "ACTIVE"
            and x.currency == currency
        ]
        if mine and (ask is None or min(mine) < ask):
            ask = min(mine)
    return market_body(product.product_id, variant.variant_id, currency, ask, bid)


def emit_market_moves(world: World, now: float) -> None:
    """Once per sim hour, relay fresh market data for every variant the seller has live asks on."""
    hour = int(now // 3600)
    if hour == world.market_hour:
        return
    world.market_hour = hour
    live = sorted(
        {(x.variant_id, x.currency) for x in world.listings.values() if x.status == "ACTIVE"}
    )
    for variant_id, currency in live:
        variant = world.variants.get(variant_id)
        product = world.products.get(variant.product_id) if variant else None
        if variant is not None and product is not None:
            data = quote(world, product, variant, currency, own=False)
            world.emit("stockx.market.updated", variant_id, data)
