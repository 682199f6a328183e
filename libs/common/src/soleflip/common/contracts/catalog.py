"""Events the catalog service publishes (stream CATALOG, subjects `catalog.<type suffix>`).

`catalog.product.upserted` carries the whole product as the catalog now knows it (with every
variant, its structured sizes and GTINs), so a consumer can keep a denormalised copy without
calling back. `catalog.product.remapped` says that StockX gave a product a new id: the catalog's
own `product_id` stays, `stockx_product_id` changes. New fields always get defaults.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import msgspec

from soleflip.common.contracts.bounds import check_amount
from soleflip.common.contracts.envelope import TypedEvent

UPSERTED = "catalog.product.upserted"
REMAPPED = "catalog.product.remapped"
SOURCE = "soleflip.catalog"


class SizeData(msgspec.Struct, frozen=True, kw_only=True):
    """One size of a variant in one system: `type` "uk", `value` "6", `label` "UK 6 (EU 39)"."""

    type: str
    value: str
    label: str = ""


class VariantData(msgspec.Struct, frozen=True, kw_only=True):
    """A variant (size) of a product: ids on both sides, sizes in every system, barcodes."""

    variant_id: str
    stockx_variant_id: str
    variant_value: str | None = None
    default_size_type: str | None = None
    sizes: list[SizeData] = msgspec.field(default_factory=list)
    gtins: list[str] = msgspec.field(default_factory=list)


class ProductData(msgspec.Struct, frozen=True, kw_only=True):
    """A catalog product after an upsert."""

    product_id: str
    stockx_product_id: str
    title: str
    style_id: str | None = None
    style_codes: list[str] = msgspec.field(default_factory=list)
    brand: str | None = None
    product_type: str | None = None
    gender: str | None = None
    colorway: str | None = None
    retail_price: Decimal | None = None
    retail_currency: str = "USD"
    release_date: date | None = None
    variants: list[VariantData] = msgspec.field(default_factory=list)
    updated_at: datetime | None = None
    #: A picture of the product where StockX has one (its v2 catalog API has none today).
    image_url: str | None = None

    def __post_init__(self) -> None:
        check_amount(self.retail_price, "retail_price")


class RemapData(msgspec.Struct, frozen=True, kw_only=True):
    """StockX answered 404 for a stored id; the product was found again by style id."""

    product_id: str
    old_stockx_product_id: str
    new_stockx_product_id: str
    style_id: str | None = None


class _CatalogEvent(TypedEvent, frozen=True):
    """The base of every catalog event (envelope fields from `TypedEvent`)."""


class ProductUpserted(_CatalogEvent, frozen=True, tag=UPSERTED):
    """The catalog stored a product (new, refreshed or changed)."""

    data: ProductData


class ProductRemapped(_CatalogEvent, frozen=True, tag=REMAPPED):
    """A product's StockX id changed (the old one now answers 404)."""

    data: RemapData


CatalogEvent = ProductUpserted | ProductRemapped

catalog_event_decoder: msgspec.json.Decoder[CatalogEvent] = msgspec.json.Decoder(CatalogEvent)

__all__ = [
    "REMAPPED",
    "SOURCE",
    "UPSERTED",
    "CatalogEvent",
    "ProductData",
    "ProductRemapped",
    "ProductUpserted",
    "RemapData",
    "SizeData",
    "VariantData",
    "catalog_event_decoder",
]
