"""Property tests: for any market and cost, a recommendation is within [floor, ceiling] and its
payout covers cost plus the minimum margin; the floor solver matches a brute-force search."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from soleflip.pricing.domain import (
    AutoReprice,
    FeeSchedule,
    ListingState,
    Market,
    Rule,
    Strategy,
    evaluate,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
money = st.decimals(min_value=D("0"), max_value=D("3000"), places=2)
whole = st.integers(min_value=1, max_value=4000).map(D)
maybe_whole = st.none() | whole
schedules = st.builds(
    FeeSchedule,
    seller_level=st.integers(1, 5),
    bonus_rate=st.sampled_from([D("0"), D("0.01"), D("0.02")]),
)
currencies = st.sampled_from(["EUR", "USD", "GBP", "CHF", "CAD", "AUD"])
rules = st.builds(
    Rule,
    id=st.just("r"),
    strategy=st.sampled_from(list(Strategy)),
    beat_amount=st.none() | st.integers(0, 50).map(D),
    beat_pct=st.none() | st.decimals(min_value=D("0"), max_value=D("30"), places=1),
    fixed_price=maybe_whole,
    ceiling=maybe_whole,
    min_margin_pct=st.decimals(min_value=D("0"), max_value=D("50"), places=1),
)
markets = st.builds(
    Market,
    lowest_ask=maybe_whole,
    highest_bid=maybe_whole,
    sell_faster=maybe_whole,
    earn_more=maybe_whole,
)


@settings(max_examples=400, deadline=None)
@given(rule=rules, market=markets, cost=money, schedule=schedules, currency=currencies)
def test_recommendation_respects_floor_ceiling_and_margin(
    rule: Rule, market: Market, cost: D, schedule: FeeSchedule, currency: str
) -> None:
    terms = schedule.terms(currency)
    listing = ListingState(
        listing_id="l", variant_id="v", currency=currency, amount=D("100"), cost=cost
    )
    result = evaluate(listing, [rule], market, terms, AutoReprice(enabled=True), NOW)
    if result.price is None:
        return
    assert result.floor is not None
    assert result.price >= result.floor
    assert result.price == result.price.to_integral_value()
    if rule.ceiling is not None:
        assert result.price <= rule.ceiling
    assert terms.payout(result.price) >= cost + cost * rule.min_margin_pct / 100
    assert result.payout == terms.payout(result.price)


@settings(max_examples=300, deadline=None)
@given(
    cost=money,
    margin=st.decimals(min_value=D("0"), max_value=D("40"), places=1),
    schedule=schedules,
    currency=currencies,
)
def test_floor_is_the_lowest_whole_price_covering_cost_and_margin(
    cost: D, margin: D, schedule: FeeSchedule, currency: str
) -> None:
    terms = schedule.terms(currency)
    target = cost + cost * margin / 100
    floor = terms.floor(cost, margin)
    assert floor >= 1
    assert floor == floor.to_integral_value()
    assert terms.payout(floor) >= target
    assert floor == 1 or terms.payout(floor - 1) < target


@settings(max_examples=200, deadline=None)
@given(price=st.integers(1, 5000).map(D), schedule=schedules, currency=currencies)
def test_payout_is_monotone_in_price(price: D, schedule: FeeSchedule, currency: str) -> None:
    terms = schedule.terms(currency)
    assert terms.payout(price + 1) > terms.payout(price)
