"""Daily FX reference rates: the ECB CSV format and the bounds every rate must keep.

Rates are quoted like the ECB's euro foreign exchange reference rates: units of a currency per
1 EUR on a date (EUR itself is 1 and never stored). `eurofxref.csv` (the day's rates) and
`eurofxref-hist.csv` (every day since 1999) share one layout:

    Date,USD,JPY,BGN,...,ZAR,            (a trailing comma: an empty last column)
    2026-12-01,1.0512,158.25,...         (the daily file writes "01 December 2026")

A cell "N/A" or empty means no rate that day (a currency the ECB stopped or started quoting).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

#: Domain bounds of one rate per EUR: IDR and VND are around 17,000-30,000 per EUR.
MIN_RATE = Decimal("0.000001")
MAX_RATE = Decimal("1000000")
MIN_DATE = date(1999, 1, 1)  # the euro's first day
MAX_DATE = date(2100, 1, 1)
#: A rate older than this many days before a sale is not used (ECB skips weekends and TARGET
#: holidays: the longest gap, Easter, is 4 days).
MAX_STALENESS_DAYS = 7
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class FxFormatError(ValueError):
    """The file is not in the ECB reference-rates layout (or a line breaks it)."""


@dataclass(frozen=True, slots=True)
class Rate:
    """Units of `currency` per 1 EUR on `day`."""

    day: date
    currency: str
    rate: Decimal


def check_rate(currency: str, day: date, rate: Decimal) -> None:
    """Refuse a rate outside its domain (ValueError naming the problem)."""
    if not _CURRENCY.match(currency) or currency == "EUR":
        raise ValueError(f"{currency!r} is not a currency quoted against EUR")
    if not MIN_DATE <= day < MAX_DATE:
        raise ValueError(f"{day} is outside {MIN_DATE}..{MAX_DATE}")
    if not rate.is_finite() or not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"{currency} rate {rate} is outside {MIN_RATE}..{MAX_RATE}")


def _day(text: str) -> date:
    for layout in ("%Y-%m-%d", "%d %B %Y"):
        try:
            return datetime.strptime(text.strip(), layout).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or '01 December 2026')")


def _header(row: list[str]) -> list[str]:
    if not row or row[0].strip() != "Date":
        raise FxFormatError("the first line must start with 'Date' (the ECB layout)")
    codes = [c.strip() for c in row[1:]]
    while codes and codes[-1] == "":
        codes.pop()  # the ECB's trailing comma
    bad = [c for c in codes if not _CURRENCY.match(c) or c == "EUR"]
    if bad or len(codes) > 200:
        raise FxFormatError(f"header: not ISO 4217 codes quoted against EUR: {bad[:5]}")
    return codes


def parse_ecb_csv(lines: Iterable[str], refused: list[str]) -> Iterator[Rate]:
    """The rates of an ECB reference-rates CSV, line by line (memory does not grow with it).

    A line that breaks a bound is skipped and described in `refused` (line number and reason);
    a header that is not the ECB layout raises `FxFormatError`.
    """
    reader = csv.reader(lines)
    codes = _header(next(reader, []))
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            day = _day(row[0])
            yield from _rates(day, codes, row[1:])
        except (ValueError, InvalidOperation) as exc:
            refused.append(f"line {number}: {exc}")


def _rates(day: date, codes: list[str], cells: list[str]) -> list[Rate]:
    found = []
    for code, cell in zip(codes, cells, strict=False):
        text = cell.strip()
        if text in ("", "N/A"):
            continue
        rate = Decimal(text)
        check_rate(code, day, rate)
        found.append(Rate(day, code, rate))
    return found
