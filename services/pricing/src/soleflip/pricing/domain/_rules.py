"""Repricing rules: strategies, scope, ceiling, threshold and cool-down (pure, in Decimal)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

import msgspec

from soleflip.common.contracts.bounds import MAX_RATIO, amount_problem
from soleflip.pricing.domain._fees import ZERO

#: `rule.priority` is a Postgres `integer`; a cool-down longer than ten years is a typo.
MAX_PRIORITY = 2**31 - 1
MAX_COOLDOWN_S = 10 * 365 * 86_400


class Strategy(StrEnum):
    """How a rule turns the market into a target price."""

    MATCH_LOWEST_ASK = "match_lowest_ask"
    BEAT_LOWEST_ASK = "beat_lowest_ask"
    SELL_FASTER = "sell_faster"
    EARN_MORE = "earn_more"
    FIXED = "fixed"


class Market(msgspec.Struct, frozen=True, kw_only=True):
    """The market figures strategies read (StockX's, in one currency; None when unknown)."""

    lowest_ask: Decimal | None = None
    highest_bid: Decimal | None = None
    sell_faster: Decimal | None = None
    earn_more: Decimal | None = None


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """What a listing is, for choosing its rule."""

    brand: str | None = None
    style_id: str | None = None
    stock_item_id: str | None = None


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """A repricing rule. Unset scope fields match everything; lower `priority` wins.

    `min_change` (whole units) and `cooldown_s` stop oscillation; `auto_reprice` is off by
    default; `dry_run` records what would be requested without requesting it.
    """

    id: str
    name: str = ""
    priority: int = 100
    strategy: Strategy = Strategy.MATCH_LOWEST_ASK
    beat_amount: Decimal | None = None
    beat_pct: Decimal | None = None
    fixed_price: Decimal | None = None
    ceiling: Decimal | None = None
    min_margin_pct: Decimal = ZERO
    min_change: Decimal = Decimal("1")
    cooldown_s: int = 600
    auto_reprice: bool = False
    dry_run: bool = False
    enabled: bool = True
    brand: str | None = None
    style_id: str | None = None
    stock_item_id: str | None = None

    def matches(self, scope: Scope) -> bool:
        return self.enabled and all(
            want is None or want == have
            for want, have in (
                (self.brand, scope.brand),
                (self.style_id, scope.style_id),
                (self.stock_item_id, scope.stock_item_id),
            )
        )

    def specificity(self) -> int:
        return (
            (self.stock_item_id is not None) * 4
            + (self.style_id is not None) * 2
            + (self.brand is not None)
        )


def select_rule(rules: Sequence[Rule], scope: Scope) -> Rule | None:
    """The rule for a listing: lowest priority number first, then the most specific scope."""
    matching = [r for r in rules if r.matches(scope)]
    if not matching:
        return None
    return min(matching, key=lambda r: (r.priority, -r.specificity(), r.id))


def whole_down(value: Decimal) -> Decimal:
    """The largest whole unit not above `value` (StockX takes whole units)."""
    return value.to_integral_value(rounding=ROUND_FLOOR)


def strategy_price(rule: Rule, market: Market) -> Decimal | None:
    """The rule's raw target in whole units, or None when the market lacks its input."""
    match rule.strategy:
        case Strategy.FIXED:
            raw = rule.fixed_price
        case Strategy.MATCH_LOWEST_ASK:
            raw = market.lowest_ask
        case Strategy.BEAT_LOWEST_ASK:
            raw = _beaten(market.lowest_ask, rule.beat_amount, rule.beat_pct)
        case Strategy.SELL_FASTER:
            raw = market.sell_faster
        case Strategy.EARN_MORE:
            raw = market.earn_more
    return None if raw is None else whole_down(raw)


def _beaten(ask: Decimal | None, amount: Decimal | None, pct: Decimal | None) -> Decimal | None:
    if ask is None:
        return None
    if pct is not None:
        return ask - ask * pct / 100
    return ask - (amount if amount is not None else Decimal("1"))


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """A price (None: nothing to recommend) and why."""

    price: Decimal | None
    reason: str


def decide_price(rule: Rule, market: Market, floor: Decimal | None) -> Decision:
    """The recommended whole price: the strategy's target within [floor, ceiling]."""
    target = strategy_price(rule, market)
    if target is None:
        return Decision(price=None, reason=f"no market input for {rule.strategy}")
    ceiling = None if rule.ceiling is None else whole_down(rule.ceiling)
    if floor is not None and ceiling is not None and ceiling < floor:
        return Decision(price=None, reason=f"ceiling {ceiling} is below the floor {floor}")
    if floor is not None and target < floor:
        return Decision(price=floor, reason=f"{rule.strategy} {target} is below the floor")
    if ceiling is not None and target > ceiling:
        return Decision(price=ceiling, reason=f"{rule.strategy} {target} is above the ceiling")
    if target < 1:
        return Decision(price=None, reason=f"{rule.strategy} gives no positive price")
    return Decision(price=target, reason=f"{rule.strategy} {target}")


def reprice_hold(
    rule: Rule,
    current: Decimal | None,
    price: Decimal,
    last_reprice_at: datetime | None,
    now: datetime,
) -> str | None:
    """Why a listing keeps its price (None: reprice it). Threshold and cool-down make a war of
    asks settle instead of oscillating; a listing without a known price is never touched."""
    if current is None:
        return "the listing has no current price"
    if abs(price - current) < max(rule.min_change, Decimal("1")):
        return "change below the threshold"
    if last_reprice_at is not None and (now - last_reprice_at).total_seconds() < rule.cooldown_s:
        return "cool-down"
    return None


def bound_problems(rule: Rule) -> list[tuple[str, str]]:
    """Numbers of a rule outside their domain (money, ratios, integer ranges)."""
    problems = []
    for field in ("beat_amount", "fixed_price", "ceiling", "min_change"):
        value = getattr(rule, field)
        problem = None if value is None else amount_problem(value)
        if problem is not None:
            problems.append((field, problem))
    for field in ("beat_pct", "min_margin_pct"):
        value = getattr(rule, field)
        if value is not None and not (value.is_finite() and abs(value) <= MAX_RATIO):
            problems.append((field, f"must be a finite number within +-{MAX_RATIO}"))
    if not -MAX_PRIORITY <= rule.priority <= MAX_PRIORITY:
        problems.append(("priority", f"must be within +-{MAX_PRIORITY}"))
    if not rule.cooldown_s <= MAX_COOLDOWN_S:
        problems.append(("cooldown_s", f"must be at most {MAX_COOLDOWN_S} (ten years)"))
    return problems


def rule_problems(rule: Rule) -> list[tuple[str, str]]:
    """Field problems of a rule, as (field, message); empty when the rule is usable."""
    problems = bound_problems(rule)
    if problems:
        return problems  # the checks below compare numbers, which needs them finite
    if rule.strategy is Strategy.FIXED and (rule.fixed_price is None or rule.fixed_price < 1):
        problems.append(("fixed_price", "the fixed strategy needs a price of at least 1"))
    if rule.beat_amount is not None and rule.beat_amount < 0:
        problems.append(("beat_amount", "must not be negative"))
    if rule.beat_pct is not None and not 0 <= rule.beat_pct < 100:
        problems.append(("beat_pct", "must be at least 0 and below 100"))
    if rule.ceiling is not None and rule.ceiling < 1:
        problems.append(("ceiling", "must be at least 1"))
    if rule.min_margin_pct < 0:
        problems.append(("min_margin_pct", "must not be negative"))
    if rule.min_change < 0 or rule.cooldown_s < 0:
        problems.append(("min_change", "threshold and cool-down must not be negative"))
    return problems
