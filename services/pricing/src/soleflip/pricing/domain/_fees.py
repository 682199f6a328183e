"""Fees and payout: the one schedule shared with orders lives in `soleflip.common.fees`."""

from soleflip.common.fees import (
    CENT,
    ZERO,
    FeeSchedule,
    FeeTerms,
    PayoutBreakdown,
    cents,
    schedule_at,
    whole_up,
)

__all__ = [
    "CENT",
    "ZERO",
    "FeeSchedule",
    "FeeTerms",
    "PayoutBreakdown",
    "cents",
    "schedule_at",
    "whole_up",
]
