"""Decoding tolerance: nulls everywhere StockX allows them, unknown enum values, omitted keys."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from soleflip.common.errors import InvalidInput
from soleflip.common.stockx import (
    Listing,
    Order,
    Product,
    ProductVariant,
    VariantMarketData,
    format_amount,
    shipping_id_from_url,
)

LISTING_ALL_NULL = {
    "listingId": "l1",
    "status": "ACTIVE",
    "amount": None,
    "currencyCode": None,
    "inventoryType": None,
    "createdAt": "2021-11-09T12:44:31.000Z",
    "updatedAt": "2021-11-09T12:44:31.000Z",
    "batch": None,
    "ask": None,
    "order": None,
    "product": None,
    "variant": None,
    "authenticationDetails": None,
    "payout": None,
    "lastOperation": None,
    "initiatedShipments": None,
    "condition": None,
    "conditionDescription": None,
}


def test_listing_with_every_nullable_field_null_decodes() -> None:
    listing = msgspec.json.decode(msgspec.json.encode(LISTING_ALL_NULL), type=Listing)
    assert listing.amount is None
    assert listing.payout is None
    assert listing.last_operation is None


def test_unknown_enum_values_and_unknown_fields_are_accepted() -> None:
    raw = {
        **LISTING_ALL_NULL,
        "status": "QUANTUM_SUPERPOSITION",
        "inventoryType": "ORBITAL",
        "brandNewField": {"x": 1},
    }
    listing = msgspec.json.decode(msgspec.json.encode(raw), type=Listing)
    assert (listing.status, listing.inventory_type) == ("QUANTUM_SUPERPOSITION", "ORBITAL")


def test_order_with_null_shipment_payout_and_unknown_status_decodes() -> None:
    raw = {
        "orderNumber": "02-L0QT6MRVSG",
        "askId": "136",
        "amount": "99",
        "status": "UNKNOWN",
        "listingId": None,
        "currencyCode": None,
        "createdAt": None,
        "updatedAt": None,
        "product": {"productId": "p", "productName": None, "styleId": None},
        "variant": {"variantId": "v", "variantName": "n", "variantValue": None},
        "shipment": None,
        "initiatedShipments": None,
        "inventoryType": "DFS",
        "payout": None,
    }
    order = msgspec.json.decode(msgspec.json.encode(raw), type=Order)
    assert order.amount == Decimal(99)
    assert order.shipment is None
    assert order.payout is None
    assert order.inventory_type == "DFS"


def test_product_with_null_attributes_and_omitted_optional_keys_decodes() -> None:
    raw = {
        "productId": "p",
        "urlKey": "k",
        "styleId": None,
        "productType": "sneakers",
        "title": None,
        "brand": None,
        "productAttributes": {
            "gender": None,
            "season": None,
            "releaseDate": None,
            "retailPrice": None,
            "colorway": None,
            "color": None,
        },
    }
    product = msgspec.json.decode(msgspec.json.encode(raw), type=Product)
    assert product.size_chart is None
    assert product.is_flex_eligible is None
    assert product.product_attributes is not None
    assert product.product_attributes.retail_price is None


def test_variant_with_null_value_and_missing_gtins_decodes() -> None:
    raw = {
        "productId": "p",
        "variantId": "v",
        "variantName": "x:0",
        "variantValue": None,
        "sizeChart": {"availableConversions": [], "defaultConversion": None},
    }
    variant = msgspec.json.decode(msgspec.json.encode(raw), type=ProductVariant)
    assert variant.gtins == ()
    assert variant.variant_value is None


def test_market_data_with_only_required_keys_decodes_with_null_prices() -> None:
    raw = {
        "productId": "p",
        "variantId": "v",
        "currencyCode": "GBP",
        "lowestAskAmount": None,
        "highestBidAmount": "27",
    }
    data = msgspec.json.decode(msgspec.json.encode(raw), type=VariantMarketData)
    assert data.lowest_ask_amount is None
    assert data.highest_bid_amount == Decimal(27)
    assert data.standard_market_data is None


@pytest.mark.parametrize(
    ("amount", "wire"),
    [(Decimal("102"), "102"), (Decimal("102.00"), "102"), (79, "79"), (Decimal("1E+2"), "100")],
)
def test_amounts_go_out_as_whole_unit_strings(amount: Decimal | int, wire: str) -> None:
    assert format_amount(amount) == wire


@pytest.mark.parametrize("amount", [Decimal("79.99"), Decimal("-1"), Decimal("NaN")])
def test_fractional_negative_or_nan_amounts_are_refused(amount: Decimal) -> None:
    with pytest.raises(InvalidInput):
        format_amount(amount)


def test_shipping_id_is_the_last_segment_of_the_document_url() -> None:
    url = "https://api.stockx.com/v2/selling/orders/06-9X/shipping-document/S-123?x=1"
    assert shipping_id_from_url(url) == "S-123"
    assert shipping_id_from_url(None) is None
