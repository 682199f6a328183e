"""Template filters: every number shown with its currency, times in UTC, readable states."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def money(value: Any, currency: str | None = None) -> str:
    """`{"amount", "currency"}` (or an amount and a currency) as `EUR 1,234.50`; `—` if none."""
    if isinstance(value, dict):
        currency = value.get("currency")
        value = value.get("amount")
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{currency or '?'} {amount:,.2f}"


def when(value: Any) -> str:
    """An RFC 3339 time (or datetime) as `2026-12-02 20:15 UTC`; `—` if none."""
    if not value:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def day(value: Any) -> str:
    text = when(value)
    return text[:10] if text != "—" else text


def state(value: Any) -> str:
    return str(value or "—").replace("_", " ").lower()


def pct(value: Any) -> str:
    if value is None or value == "":
        return "—"
    try:
        return f"{Decimal(str(value)) * 100:.1f} %"
    except InvalidOperation:
        return str(value)


FILTERS: dict[str, Callable[..., str]] = {
    "money": money,
    "when": when,
    "day": day,
    "state": state,
    "pct": pct,
}
