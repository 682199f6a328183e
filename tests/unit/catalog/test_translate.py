"""StockX resources become catalog data: structured sizes, all GTINs, all style codes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec

from soleflip.catalog.translate import product_data
from soleflip.common.stockx import Product, ProductVariant

PRODUCT = {
    "productId": "p1",
    "styleId": "315122-111/CW2288-111",
    "title": "Nike Air Force 1 Low '07 White",
    "brand": "Nike",
    "productType": "sneakers",
    "productAttributes": {"gender": "men", "releaseDate": "2007-01-01", "retailPrice": 110},
}
VARIANTS = [
    {
        "productId": "p1",
        "variantId": "v1",
        "variantValue": "6.5",
        "sizeChart": {
            "availableConversions": [
                {"size": "US M 6.5", "type": "us m"},
                {"size": "UK 6 (EU 39)", "type": "uk"},
                {"size": "EU 39", "type": "eu"},
            ],
            "defaultConversion": {"size": "6.5", "type": "us m"},
        },
        "gtins": [{"identifier": "195866123456", "type": "UPC"}],
    },
    {"productId": "p1", "variantId": "v2", "variantValue": "7", "gtins": []},
]


def test_product_data_keeps_every_code_size_pair_and_gtin() -> None:
    product = msgspec.convert(PRODUCT, Product)
    variants = msgspec.convert(VARIANTS, list[ProductVariant])
    data = product_data(product, variants)
    assert data.style_codes == ["315122-111", "CW2288-111"]
    assert data.retail_price == Decimal(110)
    assert data.release_date == date(2007, 1, 1)
    first, missing_gtin = data.variants
    assert [(s.type, s.value, s.label) for s in first.sizes] == [
        ("us m", "6.5", "US M 6.5"),
        ("uk", "6", "UK 6 (EU 39)"),
        ("eu", "39", "EU 39"),
    ]
    assert first.default_size_type == "us m"
    assert first.gtins == ["195866123456"]
    assert missing_gtin.gtins == []
    assert missing_gtin.sizes == []
