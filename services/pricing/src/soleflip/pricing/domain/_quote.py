"""The ad-hoc quote of `POST /api/v1/quote`: "what should I list this at?"."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from soleflip.pricing.domain._fees import FeeTerms
from soleflip.pricing.domain._rules import Market, Rule, Strategy, strategy_price

#: The strategies a quote compares, in the order they are answered (beat = one unit below).
QUOTED = (
    Strategy.MATCH_LOWEST_ASK,
    Strategy.BEAT_LOWEST_ASK,
    Strategy.SELL_FASTER,
    Strategy.EARN_MORE,
)


class QuoteLine(msgspec.Struct, frozen=True, kw_only=True):
    """One strategy's whole price (never below the floor), its payout and profit."""

    strategy: Strategy
    price: Decimal
    payout: Decimal
    profit: Decimal


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    """The floor, the payout there, and one line per strategy the market can answer."""

    floor: Decimal
    payout_at_floor: Decimal
    lines: list[QuoteLine]


def quote(terms: FeeTerms, cost: Decimal, min_margin_pct: Decimal, market: Market) -> Quote:
    """Floor and strategy prices for a seller holding an item that cost `cost`."""
    floor = terms.floor(cost, min_margin_pct)
    lines = []
    for strategy in QUOTED:
        target = strategy_price(Rule(id="quote", strategy=strategy), market)
        if target is None:
            continue
        price = max(target, floor)
        payout = terms.payout(price)
        lines.append(QuoteLine(strategy=strategy, price=price, payout=payout, profit=payout - cost))
    return Quote(floor=floor, payout_at_floor=terms.payout(floor), lines=lines)
