"""Catalog ingestion (Beta): category-specific validation, then In Review -> Completed/Rejected."""

from __future__ import annotations

from typing import Any

from soleflip.stockx_sim.catalog import Product, Variant, slug
from soleflip.stockx_sim.errors import bad_request
from soleflip.stockx_sim.records import Ingestion
from soleflip.stockx_sim.world import World

_BASE_REQUIRED = (
    "category",
    "productTitle",
    "brand",
    "productImages",
    "variants",
    "retailPrice",
    "releaseDate",
    "countryOfOrigin",
)
_BASE_ALLOWED = {
    *_BASE_REQUIRED,
    "partnerProductId",
    "tags",
    "colorway",
    "styleCode",
    "productDescription",
    "dimensions",
    "weight",
    "productURL",
}
# category -> (extra required, extra allowed), after StockX's five ingestion input schemas.
_SCHEMAS: dict[str, tuple[set[str], set[str]]] = {
    "sneakers": ({"colorway", "gtin", "gender", "styleCode"}, {"gtin", "gender", "material"}),
    "apparel": ({"colorway", "material", "gender"}, {"material", "gender", "gtin", "productCode"}),
    "collectibles": (set(), {"productCode"}),
    "electronics": (set(), {"gtin", "productCode"}),
    "trading cards": (set(), {"gtin", "productCode"}),
}
_SCHEMAS["shoes"] = _SCHEMAS["sneakers"]
_SCHEMAS["accessories"] = _SCHEMAS["apparel"]
_ARRAYS = {"productImages", "variants", "tags"}


def _check_item(index: int, item: Any) -> None:
    if not isinstance(item, dict):
        raise bad_request(f"items[{index}] must be an object")
    category = item.get("category")
    if category not in _SCHEMAS:
        raise bad_request(f"items[{index}].category must be one of {', '.join(_SCHEMAS)}")
    required, allowed = _SCHEMAS[category]
    missing = [k for k in (*_BASE_REQUIRED, *sorted(required)) if k not in item]
    if missing:
        raise bad_request(f"items[{index}] is missing {', '.join(missing)}")
    unknown = set(item) - _BASE_ALLOWED - allowed
    if unknown:
        raise bad_request(f"items[{index}] has unknown fields {', '.join(sorted(unknown))}")
    for key, value in item.items():
        if key in _ARRAYS:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        elif key == "productCode":
            ok = isinstance(value, dict) and value.get("name") in ("serial number", "mpn")
        else:
            ok = isinstance(value, str)
        if not ok:
            raise bad_request(f"items[{index}].{key} has the wrong type")


def submit(world: World, body: Any) -> Ingestion:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise bad_request("items must be a non-empty array")
    for index, item in enumerate(items):
        _check_item(index, item)
    now = world.now()
    job = Ingestion(world.new_id(), now, now + world.config.settle_delay_s, [])
    for item in items:
        job.items.append(
            {
                "ingestionId": job.ingestion_id,
                "status": "In Review",
                "input": item,
                "result": None,
                "partnerProductId": item.get("partnerProductId"),
                "rejectionDetails": None,
                "createdAt": now,
                "updatedAt": now,
            }
        )
    world.ingestions[job.ingestion_id] = job
    return job


def _materialize(world: World, item: dict[str, Any]) -> str:
    """Add the accepted product to the catalog; returns its first variant id."""
    title, women = item["productTitle"], item.get("gender") == "women"
    product = Product(
        product_id=world.new_id(),
        url_key=slug(title),
        style_id=item.get("styleCode"),
        title=title,
        brand=item["brand"],
        gender=item.get("gender", "unisex"),
        season=None,
        release_date=item["releaseDate"],
        retail_price=_number(item["retailPrice"]),
        colorway=item.get("colorway"),
        color=None,
        default_chart=("US W", "us w") if women else ("US M", "us m"),
        flex=False,
        direct=False,
        base_usd=int(_number(item["retailPrice"]) or 100),
        product_type=item["category"],
    )
    _add_variants(product, item, world)
    world.products[product.product_id] = product
    for variant in product.variants:
        world.variants[variant.variant_id] = variant
        for gtin, _ in variant.gtins:
            world.gtins.setdefault(gtin, variant)
    return product.variants[0].variant_id


def _add_variants(product: Product, item: dict[str, Any], world: World) -> None:
    kind = product.default_chart[1]
    for index, value in enumerate(item["variants"] or ["One Size"]):
        gtin = item.get("gtin") if index == 0 else None
        gtins = [(gtin, {12: "UPC", 13: "EAN-13"}.get(len(gtin), "GTIN"))] if gtin else []
        product.variants.append(
            Variant(
                variant_id=world.new_id(),
                product_id=product.product_id,
                name=f"{product.url_key}:{index}",
                value=value,
                default_type=kind,
                conversions=((f"{kind.upper()} {value}", kind),),
                gtins=gtins,
                flex=False,
                direct=False,
                price_factor=1.0,
            )
        )


def _number(raw: str) -> float | None:
    try:
        return float(raw)
    except ValueError:
        return None


def settle_ingestions(world: World, now: float) -> None:
    """Finish due jobs: a bad GTIN is rejected, everything else completes with a new variant id."""
    for job in world.ingestions.values():
        if job.settled or now < job.settle_at:
            continue
        job.settled = True
        for entry in job.items:
            item = entry["input"]
            gtin = item.get("gtin")
            entry["updatedAt"] = now
            if gtin is not None and (not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14)):
                entry["status"] = "Rejected"
                entry["rejectionDetails"] = {"reason": "GTIN length must be 8, 12, 13 or 14 digits"}
                continue
            entry["status"] = "Completed"
            entry["result"] = {
                "brand": item["brand"],
                "title": item["productTitle"],
                "variantId": _materialize(world, item),
            }
