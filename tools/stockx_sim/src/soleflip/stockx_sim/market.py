"""Market data per variant and currency that drifts with the sim clock (hourly buckets).

Prices derive from a hash of (seed, variant, hour), so the same seed and time give the same
numbers; `PUT /_sim/market` overrides win until cleared.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from soleflip.stockx_sim.catalog import Product, Variant

LISTING_CURRENCIES = (
    "AUD",
    "CAD",
    "CHF",
    "EUR",
    "GBP",
    "HKD",
    "JPY",
    "KRW",
    "MXN",
    "NZD",
    "SGD",
    "USD",
)
MARKET_CURRENCIES = (
    *LISTING_CURRENCIES,
    "BRL",
    "CLP",
    "CNY",
    "DKK",
    "HUF",
    "IDR",
    "ILS",
    "KWD",
    "MOP",
    "MYR",
    "NOK",
    "PEN",
    "PHP",
    "PLN",
    "SEK",
    "THB",
    "TWD",
    "VND",
)
_FX = {
    "USD": 1.0,
    "EUR": 0.92,
    "GBP": 0.79,
    "AUD": 1.52,
    "CAD": 1.37,
    "CHF": 0.88,
    "HKD": 7.8,
    "JPY": 150.0,
    "KRW": 1350.0,
    "MXN": 17.0,
    "NZD": 1.65,
    "SGD": 1.34,
    "BRL": 5.0,
    "CLP": 930.0,
    "CNY": 7.2,
    "DKK": 6.9,
    "HUF": 360.0,
    "IDR": 15600.0,
    "ILS": 3.7,
    "KWD": 0.31,
    "MOP": 8.0,
    "MYR": 4.7,
    "NOK": 10.6,
    "PEN": 3.7,
    "PHP": 56.0,
    "PLN": 4.0,
    "SEK": 10.5,
    "THB": 35.0,
    "TWD": 31.5,
    "VND": 24500.0,
}


def _unit(seed: int, *parts: object) -> float:
    digest = hashlib.sha256(":".join(map(str, (seed, *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def usd_prices(
    seed: int, product: Product, variant: Variant, now: float
) -> dict[str, float | None]:
    """Lowest ask and highest bid in USD at sim time `now` (None when the book side is empty)."""
    hour = int(now // 3600)
    wave = 1 + 0.06 * math.sin(hour / 24 + _unit(seed, variant.variant_id) * 6.28)
    noise = 1 + 0.04 * (_unit(seed, variant.variant_id, hour) - 0.5)
    ask = product.base_usd * variant.price_factor * wave * noise
    bid = ask * (0.78 + 0.12 * _unit(seed, "bid", variant.variant_id, hour))
    no_ask = _unit(seed, "noask", variant.variant_id) < 0.08
    no_bid = _unit(seed, "nobid", variant.variant_id, hour // 24) < 0.1
    return {"lowest_ask": None if no_ask else ask, "highest_bid": None if no_bid else bid}


def convert(usd: float | None, currency: str) -> int | None:
    if usd is None:
        return None
    return max(1, round(usd * _FX.get(currency, 1.0)))


def _s(value: int | None) -> str | None:
    return None if value is None else str(value)


def market_body(
    product_id: str, variant_id: str, currency: str, ask: int | None, bid: int | None
) -> dict[str, Any]:
    """StockX's `VariantMarketDataResponse` from a lowest ask and highest bid in `currency`."""
    sell_faster = None if ask is None else max(1, ask - 1 if bid is None else max(bid + 1, ask - 1))
    earn_more = None if ask is None else ask + max(1, ask // 20)
    flex_ask = None if ask is None else ask + max(1, ask // 25)
    standard = {
        "beatUS": _s(None if ask is None else max(1, ask - 1)),
        "earnMore": _s(earn_more),
        "sellFaster": _s(sell_faster),
        "highestBidAmount": _s(bid),
        "lowestAsk": _s(ask),
    }
    flex = dict(standard, lowestAsk=_s(flex_ask))
    return {
        "productId": product_id,
        "variantId": variant_id,
        "currencyCode": currency,
        "lowestAskAmount": _s(ask),
        "highestBidAmount": _s(bid),
        "sellFasterAmount": _s(sell_faster),
        "earnMoreAmount": _s(earn_more),
        "flexLowestAskAmount": _s(flex_ask),
        "standardMarketData": standard,
        "flexMarketData": flex,
        "directMarketData": dict(standard),
    }
