"""The real StockX variant of a stock item: exact style id, then the size in its own system.

Search is fuzzy (DD1391-100 also finds DD1391-103), so the style id must match exactly; labels
repeat across sizes, so the size is matched as a (system, value) pair, never guessed. No match
or several matches is an error the seller must resolve, never a placeholder id.
"""

from __future__ import annotations

from soleflip.common.errors import InvalidInput
from soleflip.common.stockx import Priority, ProductVariant, StockXClient


def _style_ids(style_id: str | None) -> set[str]:
    return {part.strip().upper() for part in (style_id or "").split("/") if part.strip()}


def _sizes(variant: ProductVariant) -> set[tuple[str, str]]:
    """Every (system, bare size) a variant is known by: "US M 10.5" -> ("us m", "10.5")."""
    chart = variant.size_chart
    pairs: set[tuple[str, str]] = set()
    if chart is None:
        return pairs
    if chart.default_conversion and chart.default_conversion.type:
        pairs.add((chart.default_conversion.type.lower(), chart.default_conversion.size or ""))
    for conversion in chart.available_conversions:
        if conversion.type and conversion.size:
            system = conversion.type.lower()
            bare = conversion.size
            if bare.lower().startswith(system + " "):
                bare = bare[len(system) + 1 :]
            pairs.add((system, bare.strip()))
    return pairs


async def resolve_variant(stockx: StockXClient, sku: str, size: str, size_type: str) -> str:
    """The StockX variant id of `sku` in `size` (`size_type` e.g. "us m"); raises InvalidInput."""
    page = await stockx.search_catalog(sku, page_size=50, priority=Priority.USER_WRITE)
    products = [p for p in page.products if sku.strip().upper() in _style_ids(p.style_id)]
    if len(products) != 1:
        raise InvalidInput(f"style id {sku!r} matches {len(products)} StockX products, not one")
    variants = await stockx.get_product_variants(
        products[0].product_id, priority=Priority.USER_WRITE
    )
    wanted = (size_type.strip().lower(), size.strip())
    found = [v.variant_id for v in variants if wanted in _sizes(v)]
    if len(found) != 1:
        raise InvalidInput(
            f"size {size_type} {size} of {sku} matches {len(found)} StockX variants, not one"
        )
    return found[0]
