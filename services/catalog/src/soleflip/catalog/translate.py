"""StockX resources in, catalog contract data out (the only place that knows StockX's shapes).

Webhook payloads and API answers go through the same translation, so a relayed product and a
polled one are stored by the same code path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import msgspec

from soleflip.catalog.domain import size_pairs, style_codes
from soleflip.common.contracts.catalog import ProductData, SizeData, VariantData
from soleflip.common.stockx import Product, ProductVariant, SearchProduct


def _release_date(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        return None  # StockX sometimes sends partial dates; a wrong date is worse than none


def variant_data(variant: ProductVariant) -> VariantData:
    """A StockX variant with its size chart as structured pairs and its GTINs."""
    chart = variant.size_chart
    conversions = [(c.size, c.type) for c in (chart.available_conversions if chart else ())]
    default = chart.default_conversion if chart else None
    pairs = size_pairs(conversions, (default.size, default.type) if default else (None, None))
    return VariantData(
        variant_id="",
        stockx_variant_id=variant.variant_id,
        variant_value=variant.variant_value,
        default_size_type=(default.type or "").lower() or None if default else None,
        sizes=[SizeData(type=p.type, value=p.value, label=p.label) for p in pairs],
        gtins=[g.identifier for g in variant.gtins if g.identifier],
    )


def product_data(product: SearchProduct, variants: Sequence[ProductVariant]) -> ProductData:
    """A StockX product (search hit or full resource) and its variants as catalog data."""
    attrs = product.product_attributes
    return ProductData(
        product_id="",
        stockx_product_id=product.product_id,
        title=product.title or product.style_id or product.product_id,
        style_id=product.style_id,
        style_codes=style_codes(product.style_id),
        brand=product.brand,
        product_type=product.product_type,
        gender=attrs.gender if attrs else None,
        colorway=attrs.colorway if attrs else None,
        retail_price=attrs.retail_price if attrs else None,
        release_date=_release_date(attrs.release_date if attrs else None),
        variants=[variant_data(v) for v in variants],
    )


def attributes(product: SearchProduct) -> dict[str, Any]:
    """Everything StockX said about the product beyond the typed columns, kept as JSON."""
    extra = msgspec.to_builtins(product)
    extra.pop("productId", None)
    return dict(extra)


def default_size_type(product: SearchProduct) -> str | None:
    """The product's default size system ("us m", "us w"); search hits do not carry one."""
    if (
        isinstance(product, Product)
        and product.size_chart
        and product.size_chart.default_conversion
    ):
        kind = product.size_chart.default_conversion.type
        return kind.lower() if kind else None
    return None
