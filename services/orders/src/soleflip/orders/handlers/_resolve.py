"""Variant at purchase: a unit's StockX variant from orders' copy of the catalog.

A unit is matched by its style codes (every code of its SKU on one product, compared as
`soleflip.common.matching` keys, as the catalog does) and its size as a (system, value) pair.
One variant: resolved. Several: ambiguous (a person picks one). None yet: pending, until the
catalog publishes the product (it enriches purchases it does not know, within the StockX
budget); `retry_pending` re-announces old pending units so the catalog tries again. Resolving
a unit attaches it to a sale of its variant that had no unit.

A purchase and a product event of the same style codes take the codes' advisory locks
(`repo.lock_style_keys`) before they match, so whichever commits second sees the other's row.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from soleflip.common.contracts.catalog import ProductData, VariantData
from soleflip.common.db import Conn, enqueue_many
from soleflip.common.matching import code_keys, size_type, size_value
from soleflip.orders import repository as repo
from soleflip.orders.domain import NO_SALE_STATUSES
from soleflip.orders.events import stock_events
from soleflip.orders.handlers._sync import after_orders

#: Most units one resolution pass looks at (a product event wakes only its own units).
MAX_OPEN_UNITS = 1000


def _wanted(row: asyncpg.Record) -> tuple[int, list[str], str, str]:
    kind = size_type(row["size_type"])
    return row["id"], list(row["sku_keys"]), kind, size_value(row["size"], kind)


def _outcome(variants: Sequence[str]) -> tuple[str | None, str]:
    if len(variants) == 1:
        return variants[0], "resolved"
    return None, "ambiguous" if variants else "pending"


async def resolve_units(
    *,
    conn: Conn,
    source: str,
    ids: Sequence[int] | None = None,
    keys: Sequence[str] | None = None,
) -> list[asyncpg.Record]:
    """Resolve open units (`ids`, or those a product with `keys` may carry); returns the units
    whose variant or status changed, as they are now (by id). Sales waiting for a resolved
    variant get their unit."""
    units = await repo.open_units(conn, ids=ids, keys=keys, limit=MAX_OPEN_UNITS)
    if not units:
        return []
    matches = await repo.match_variants(conn, [_wanted(u) for u in units])
    outcomes = [(u["id"], *_outcome(matches.get(u["id"], []))) for u in units]
    await repo.stock_context(conn, source, reason="variant resolved")
    changed = await repo.set_variants(conn, [o for o in outcomes if o[2] != "pending"])
    ids_changed = {row["id"] for row in changed}
    resolved = sorted({v for i, v, _ in outcomes if v is not None and i in ids_changed})
    if resolved and await attach_sales(resolved, conn=conn, source=source):
        # Read back: a sale that took one of these units changed it again (SOLD, its order).
        return await repo.select_stock(conn, sorted(ids_changed))
    return changed


async def attach_sales(variant_ids: Sequence[str], *, conn: Conn, source: str) -> bool:
    """Sales of these variants without a unit (a purchase recorded after its sale) take one;
    True when there were such sales."""
    numbers = await repo.unmatched_sales(conn, variant_ids, sorted(NO_SALE_STATUSES))
    if numbers:
        await after_orders(set(numbers), conn=conn, source=source)
    return bool(numbers)


def product_sizes(product: ProductData) -> list[tuple[str, str, str]]:
    """(StockX variant id, size type, size value) of every size of every listed variant."""
    rows = {
        (v.stockx_variant_id, size_type(s.type), size_value(s.value, size_type(s.type)))
        for v in product.variants
        for s in v.sizes
    }
    for v in product.variants:
        if v.variant_value and v.default_size_type:
            kind = size_type(v.default_size_type)
            rows.add((v.stockx_variant_id, kind, size_value(v.variant_value, kind)))
    return sorted(rows)


def variant_size(variant: VariantData) -> tuple[str, str | None, str | None]:
    """(StockX variant id, size type, size value) a row of this variant shows: its default
    size system's value, else the first size the catalog knows."""
    if variant.variant_value and variant.default_size_type:
        kind = size_type(variant.default_size_type)
        return variant.stockx_variant_id, kind, variant.variant_value
    if variant.sizes:
        first = variant.sizes[0]
        return variant.stockx_variant_id, size_type(first.type), first.value
    return variant.stockx_variant_id, None, variant.variant_value


def product_copy(product: ProductData) -> repo.ProductCopy:
    """What orders keeps of a catalog product (matching keys, readable text, sizes)."""
    return repo.ProductCopy(
        stockx_product_id=product.stockx_product_id,
        keys=code_keys("/".join([product.style_id or "", *product.style_codes])),
        sizes=product_sizes(product),
        variants=[variant_size(v) for v in product.variants],
        title=product.title,
        brand=product.brand,
        style_id=product.style_id,
        colorway=product.colorway,
        image_url=product.image_url,
        updated_at=product.updated_at,
    )


async def apply_product(product: ProductData, *, conn: Conn, source: str = "catalog") -> None:
    """Keep the copy of a catalog product, resolve the units it may carry, publish them."""
    copy = product_copy(product)
    keys = list(copy.keys)
    await repo.lock_style_keys(conn, keys)  # a purchase of these codes commits first or waits
    await repo.store_product(conn, copy)
    if not keys:
        return
    changed = await resolve_units(conn=conn, source=source, keys=keys)
    if changed:
        await enqueue_many(conn, stock_events(changed))


async def retry_pending(*, conn: Conn, older_than_s: float, limit: int) -> int:
    """Announce pending units again (the catalog enriches what it does not hold); each unit
    waits `older_than_s` between announcements. Returns how many were announced."""
    touched = await repo.touch_pending(conn, older_than_s=older_than_s, limit=limit)
    if touched:
        await enqueue_many(conn, stock_events(touched))
    return len(touched)
