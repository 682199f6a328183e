"""Adopting listings: a stock unit for every active listing no unit stands for.

Sellers list in the StockX app; those listings are mirrored but own nothing. Adoption gives
each one unit (LISTED, its variant known from the listing) whose cost is unknown:
`cost_missing`, no landed cost, so its sale has no profit until the cost is entered and pricing
sees no floor and holds it. Idempotent: a listing is adopted once (`adopted:<listing id>`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import asyncpg

from soleflip.common.db import Conn, enqueue_many
from soleflip.common.matching import code_keys
from soleflip.orders import repository as repo
from soleflip.orders.events import listing_events, stock_events

#: Listings adopted per call (a call says whether more are waiting).
ADOPT_BATCH = 500


def adopted_unit(listing: asyncpg.Record, now: datetime) -> repo.StockUnit:
    """The unit an adopted listing stands for; what StockX does not say stays unknown (a
    listing without a creation time was bought `now`)."""
    return repo.StockUnit(
        external_id=f"adopted:{listing['listing_id']}",
        unit=1,
        sku=listing["style_id"] or listing["product_id"] or "",
        size=listing["variant_value"] or "",
        size_type="stockx",
        unit_cost=Decimal(0),
        currency=listing["currency"],
        supplier="unknown (adopted listing)",
        purchased_at=listing["created_at"] or now,
        status="LISTED",
        cost_missing=True,
        variant_id=listing["variant_id"],
        listing_id=listing["listing_id"],
        sku_keys=tuple(code_keys(listing["style_id"])),
        variant_status="resolved",
    )


async def adopt_listings(
    *, conn: Conn, source: str, now: datetime, actor: str | None = None
) -> tuple[int, bool]:
    """Adopt up to `ADOPT_BATCH` listings; returns (adopted, whether more are waiting)."""
    listings = await repo.adoptable_listings(conn, ADOPT_BATCH + 1)
    batch = listings[:ADOPT_BATCH]
    if not batch:
        return 0, False
    await repo.stock_context(conn, source, actor=actor, reason="adopted listing")
    created = await repo.insert_units(conn, [adopted_unit(x, now) for x in batch])
    if created:
        claimed = await repo.claim_listings_for_units(conn, [row["id"] for row in created])
        await enqueue_many(conn, stock_events(created))
        await enqueue_many(conn, listing_events(claimed))
    return len(created), len(listings) > ADOPT_BATCH
