"""Strategies, rule selection, ceiling, threshold, cool-down and the evaluation of a listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from soleflip.pricing.domain import (
    AutoReprice,
    FeeSchedule,
    ListingState,
    Market,
    Rule,
    Scope,
    Status,
    Strategy,
    decide_price,
    evaluate,
    market_changed,
    parse_amount,
    quote,
    select_rule,
    strategy_price,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MARKET = Market(lowest_ask=D("150"), highest_bid=D("120"), sell_faster=D("149"), earn_more=D("157"))
EUR = FeeSchedule().terms("EUR")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (Rule(id="r", strategy=Strategy.MATCH_LOWEST_ASK), D("150")),
        (Rule(id="r", strategy=Strategy.BEAT_LOWEST_ASK), D("149")),
        (Rule(id="r", strategy=Strategy.BEAT_LOWEST_ASK, beat_amount=D("5")), D("145")),
        (Rule(id="r", strategy=Strategy.BEAT_LOWEST_ASK, beat_pct=D("2.5")), D("146")),
        (Rule(id="r", strategy=Strategy.SELL_FASTER), D("149")),
        (Rule(id="r", strategy=Strategy.EARN_MORE), D("157")),
        (Rule(id="r", strategy=Strategy.FIXED, fixed_price=D("199.99")), D("199")),
    ],
)
def test_strategies_give_whole_unit_targets(rule: Rule, expected: D) -> None:
    assert strategy_price(rule, MARKET) == expected


def test_missing_market_input_gives_no_price() -> None:
    decision = decide_price(Rule(id="r"), Market(), D("50"))
    assert decision.price is None
    assert "no market input" in decision.reason


def test_price_is_clamped_to_floor_and_ceiling() -> None:
    rule = Rule(id="r", ceiling=D("140"))
    assert decide_price(rule, MARKET, D("100")).price == D("140")
    assert decide_price(Rule(id="r"), MARKET, D("160")).price == D("160")
    assert decide_price(Rule(id="r", ceiling=D("120")), MARKET, D("130")).price is None


def test_rule_selection_by_priority_then_specificity() -> None:
    everything = Rule(id="all", priority=100)
    nike = Rule(id="nike", priority=100, brand="Nike")
    item = Rule(id="item", priority=100, stock_item_id="s1")
    urgent = Rule(id="urgent", priority=1, style_id="DD1391-100")
    rules = [everything, nike, item, urgent]
    assert select_rule(rules, Scope(brand="Nike", stock_item_id="s1")) is item
    assert select_rule(rules, Scope(brand="Nike")) is nike
    assert select_rule(rules, Scope(brand="Nike", style_id="DD1391-100")) is urgent
    assert select_rule(rules, Scope(brand="Adidas")) is everything
    assert select_rule([Rule(id="off", enabled=False)], Scope()) is None


def _listing(**kw: object) -> ListingState:
    base: dict[str, object] = {
        "listing_id": "l1",
        "variant_id": "v1",
        "currency": "EUR",
        "amount": D("160"),
        "cost": D("80"),
    }
    return ListingState(**{**base, **kw})  # type: ignore[arg-type]


AUTO = AutoReprice(enabled=True)
BEAT = Rule(id="beat", strategy=Strategy.BEAT_LOWEST_ASK, auto_reprice=True, cooldown_s=600)


def test_evaluation_explains_price_floor_payout_and_profit() -> None:
    result = evaluate(_listing(), [BEAT], MARKET, EUR, AUTO, NOW)
    assert result.price == D("149")
    assert result.floor == EUR.floor(D("80"))
    assert result.payout == EUR.payout(D("149"))
    assert result.profit == EUR.payout(D("149")) - D("80")
    assert result.status is Status.REQUESTED
    assert result.rule_id == "beat"


def test_auto_reprice_is_off_unless_global_switch_and_rule_both_opt_in() -> None:
    assert (
        evaluate(_listing(), [BEAT], MARKET, EUR, AutoReprice(), NOW).status is Status.RECOMMENDED
    )
    passive = Rule(id="p", strategy=Strategy.BEAT_LOWEST_ASK)
    assert evaluate(_listing(), [passive], MARKET, EUR, AUTO, NOW).status is Status.RECOMMENDED
    dry = AutoReprice(enabled=True, dry_run=True)
    assert evaluate(_listing(), [BEAT], MARKET, EUR, dry, NOW).status is Status.DRY_RUN


@pytest.mark.parametrize(
    ("listing", "why"),
    [
        (_listing(amount=D("149")), "threshold"),
        (_listing(last_reprice_at=NOW - timedelta(seconds=30)), "cool-down"),
        (_listing(cost=None), "landed cost unknown"),
        (_listing(halted_reason="StockX rejected 149"), "halted"),
        (_listing(pending_amount=D("149")), "already pending"),
    ],
)
def test_reprice_is_held(listing: ListingState, why: str) -> None:
    result = evaluate(listing, [BEAT], MARKET, EUR, AUTO, NOW)
    assert result.status is Status.HELD
    assert why in result.reason


def test_reprice_allowed_again_after_the_cool_down() -> None:
    listing = _listing(last_reprice_at=NOW - timedelta(seconds=601))
    assert evaluate(listing, [BEAT], MARKET, EUR, AUTO, NOW).status is Status.REQUESTED


def test_ask_war_settles_at_the_floor_without_oscillating() -> None:
    """A competitor undercuts us by one unit whenever it can; we beat it by one."""
    listing, floor, competitor = _listing(amount=D("150")), EUR.floor(D("80")), D("150")
    prices = []
    for step in range(200):
        now = NOW + timedelta(seconds=601 * step)
        result = evaluate(listing, [BEAT], Market(lowest_ask=competitor), EUR, AUTO, now)
        if result.status is Status.REQUESTED:
            assert result.price is not None
            prices.append(result.price)
            listing = _listing(amount=result.price, last_reprice_at=now)
        competitor = min(competitor, (listing.amount or competitor) - 1)
    assert prices[-1] == floor
    assert prices == sorted(prices, reverse=True)  # never back up: no oscillation
    assert len(prices) == len(set(prices))


def test_no_rule_means_no_recommendation() -> None:
    result = evaluate(_listing(), [], MARKET, EUR, AUTO, NOW)
    assert (result.price, result.status) == (None, Status.NONE)


def test_quote_lines_are_never_below_the_floor() -> None:
    answer = quote(EUR, D("140"), D("0"), MARKET)
    assert answer.floor == EUR.floor(D("140"))
    assert answer.payout_at_floor == EUR.payout(answer.floor)
    assert [line.strategy for line in answer.lines] == [
        "match_lowest_ask",
        "beat_lowest_ask",
        "sell_faster",
        "earn_more",
    ]
    for line in answer.lines:
        assert line.price >= answer.floor
        assert line.profit == line.payout - D("140")


def test_market_change_detection_and_tolerant_amounts() -> None:
    assert market_changed(None, MARKET).changed
    assert not market_changed(
        MARKET, Market(**{f: getattr(MARKET, f) for f in MARKET.__struct_fields__})
    ).changed
    moved = market_changed(
        MARKET,
        Market(lowest_ask=D("140"), highest_bid=D("120"), sell_faster=D("149"), earn_more=D("157")),
    )
    assert moved.fields == ("lowest_ask",)
    assert [parse_amount(x) for x in ("140", None, "", "abc", "-3", "NaN")] == [
        D("140"),
        None,
        None,
        None,
        None,
        None,
    ]
