"""Catalog resources: search results, products, variants, market data and (beta) ingestion."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from soleflip.common.contracts.bounds import check_amount
from soleflip.common.stockx._models_common import Page, StockXModel, Timestamp


class ProductAttributes(StockXModel):
    """Descriptive attributes of a product; every one may be null."""

    gender: str | None = None
    season: str | None = None
    release_date: str | None = None
    retail_price: Decimal | None = None
    colorway: str | None = None
    color: str | None = None

    def __post_init__(self) -> None:
        check_amount(self.retail_price, "retail_price")


class ProductSizeConversion(StockXModel):
    """A size system a product supports, e.g. `{name: "US M", type: "us m"}`."""

    name: str | None = None
    type: str | None = None


class ProductSizeChart(StockXModel):
    """The size systems of a product and its default one."""

    available_conversions: tuple[ProductSizeConversion, ...] = ()
    default_conversion: ProductSizeConversion | None = None


class SearchProduct(StockXModel):
    """One catalog search hit. Search is fuzzy: match `style_id` exactly on our side."""

    product_id: str
    url_key: str | None = None
    style_id: str | None = None
    product_type: str | None = None
    title: str | None = None
    brand: str | None = None
    product_attributes: ProductAttributes | None = None


class Product(SearchProduct):
    """A catalog product (GET /catalog/products/{productId})."""

    size_chart: ProductSizeChart | None = None
    is_flex_eligible: bool | None = None
    is_direct_eligible: bool | None = None


class SearchPage(Page):
    """One page of catalog search results."""

    products: tuple[SearchProduct, ...] = ()


class VariantSizeConversion(StockXModel):
    """A variant's size in one size system, e.g. `{size: "US M 3.5", type: "us m"}`."""

    size: str | None = None
    type: str | None = None


class VariantSizeChart(StockXModel):
    """The sizes of a variant in every system StockX knows for it."""

    available_conversions: tuple[VariantSizeConversion, ...] = ()
    default_conversion: VariantSizeConversion | None = None


class Gtin(StockXModel):
    """A barcode of a variant, e.g. `{identifier: "887231059577", type: "UPC"}`."""

    identifier: str = ""
    type: str | None = None


class ProductVariant(StockXModel):
    """A variant (size) of a product, as listed by GET .../variants."""

    product_id: str
    variant_id: str
    variant_name: str | None = None
    variant_value: str | None = None
    size_chart: VariantSizeChart | None = None
    gtins: tuple[Gtin, ...] = ()
    is_flex_eligible: bool | None = None
    is_direct_eligible: bool | None = None


class ProductVariantDetails(ProductVariant):
    """A single variant, by id or by GTIN; same shape as `ProductVariant`."""


class MarketSegment(StockXModel):
    """Market prices of one channel (standard, flex or direct); all may be null."""

    lowest_ask: Decimal | None = None
    highest_bid_amount: Decimal | None = None
    sell_faster: Decimal | None = None
    earn_more: Decimal | None = None
    beat_us: Decimal | None = msgspec.field(default=None, name="beatUS")


class VariantMarketData(StockXModel):
    """Market data of one variant in the account's market; the shape varies by region."""

    product_id: str
    variant_id: str
    currency_code: str | None = None
    lowest_ask_amount: Decimal | None = None
    highest_bid_amount: Decimal | None = None
    sell_faster_amount: Decimal | None = None
    earn_more_amount: Decimal | None = None
    flex_lowest_ask_amount: Decimal | None = None
    standard_market_data: MarketSegment | None = None
    flex_market_data: MarketSegment | None = None
    direct_market_data: MarketSegment | None = None


class ProductCode(StockXModel):
    """A serial number or MPN of a submitted product."""

    code: str
    name: str


class IngestionInput(StockXModel):
    """One product submitted to the (beta) catalog ingestion; the required subset depends on
    `category`, so StockX validates it and every field here is optional."""

    category: str
    product_title: str | None = None
    brand: str | None = None
    product_images: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    retail_price: str | None = None
    release_date: str | None = None
    country_of_origin: str | None = None
    partner_product_id: str | None = None
    tags: tuple[str, ...] = ()
    colorway: str | None = None
    gtin: str | None = None
    gender: str | None = None
    style_code: str | None = None
    product_description: str | None = None
    dimensions: str | None = None
    weight: str | None = None
    material: str | None = None
    product_url: str | None = msgspec.field(default=None, name="productURL")
    product_code: ProductCode | None = None


class IngestionCreated(StockXModel):
    """The id of an accepted ingestion request."""

    ingestion_id: str


class IngestionItemResult(StockXModel):
    """The catalog entry an accepted ingestion item became."""

    brand: str | None = None
    title: str | None = None
    variant_id: str | None = None


class IngestionRejection(StockXModel):
    """Why StockX rejected an ingestion item."""

    reason: str | None = None


class IngestionItem(StockXModel):
    """Status of one ingested product: "In Review", "Completed" or "Rejected"."""

    ingestion_id: str = ""
    status: str | None = None
    input: IngestionInput | None = None
    result: IngestionItemResult | None = None
    partner_product_id: str | None = None
    rejection_details: IngestionRejection | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None


class IngestionItems(StockXModel):
    """The items of one ingestion request."""

    items: tuple[IngestionItem, ...] = ()
