"""Market observations: tolerant parsing of StockX amounts and "did it really change?"."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import msgspec

from soleflip.pricing.domain._rules import Market


def parse_amount(raw: str | Decimal | None) -> Decimal | None:
    """A StockX money string as Decimal; null, empty, negative or garbage means "no data"
    (market fields are often null, and a bad figure must not become a price)."""
    if raw is None or isinstance(raw, Decimal):
        return raw
    try:
        value = Decimal(raw.strip())
    except (InvalidOperation, AttributeError):
        return None
    return value if value.is_finite() and value >= 0 else None


class MarketChange(msgspec.Struct, frozen=True, kw_only=True):
    """A new observation compared with the previous one of the same variant and currency."""

    changed: bool
    fields: tuple[str, ...]


_FIELDS = ("lowest_ask", "highest_bid", "sell_faster", "earn_more")


def market_changed(previous: Market | None, current: Market) -> MarketChange:
    """Which figures differ (a first observation counts as a change)."""
    if previous is None:
        return MarketChange(changed=True, fields=_FIELDS)
    fields = tuple(f for f in _FIELDS if getattr(previous, f) != getattr(current, f))
    return MarketChange(changed=bool(fields), fields=fields)
