"""The pricing domain, pure and exact in `Decimal`: fees and payout, the floor solver, strategies,
rules and the evaluation of a listing. No I/O and no framework imports."""

from soleflip.pricing.domain._evaluate import (
    AutoReprice,
    Evaluation,
    ListingState,
    Status,
    evaluate,
)
from soleflip.pricing.domain._fees import (
    CENT,
    FeeSchedule,
    FeeTerms,
    PayoutBreakdown,
    cents,
    schedule_at,
    whole_up,
)
from soleflip.pricing.domain._market import MarketChange, market_changed, parse_amount
from soleflip.pricing.domain._quote import Quote, QuoteLine, quote
from soleflip.pricing.domain._rules import (
    Decision,
    Market,
    Rule,
    Scope,
    Strategy,
    decide_price,
    reprice_hold,
    rule_problems,
    select_rule,
    strategy_price,
    whole_down,
)

__all__ = [
    "CENT",
    "AutoReprice",
    "Decision",
    "Evaluation",
    "FeeSchedule",
    "FeeTerms",
    "ListingState",
    "Market",
    "MarketChange",
    "PayoutBreakdown",
    "Quote",
    "QuoteLine",
    "Rule",
    "Scope",
    "Status",
    "Strategy",
    "cents",
    "decide_price",
    "evaluate",
    "market_changed",
    "parse_amount",
    "quote",
    "reprice_hold",
    "rule_problems",
    "schedule_at",
    "select_rule",
    "strategy_price",
    "whole_down",
    "whole_up",
]
