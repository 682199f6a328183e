"""The ECB reference-rates CSV parser and the bounds of every FX rate (the `fx.rates.published`
contract included)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from soleflip.common.contracts.ingest import FxRates
from soleflip.common.fx import FxFormatError, Rate, parse_ecb_csv

DATA = Path(__file__).resolve().parents[2] / "data" / "fx"


def _parse(text: str) -> tuple[list[Rate], list[str]]:
    refused: list[str] = []
    return list(parse_ecb_csv(text.splitlines(), refused)), refused


def test_the_history_file_gives_every_quoted_rate_and_skips_n_a() -> None:
    rates, refused = _parse((DATA / "eurofxref-hist-sample.csv").read_text())
    assert refused == []
    assert len(rates) == 4 * 6 - 1  # JPY has no rate on 2025-12-30
    assert Rate(date(2025, 12, 31), "GBP", Decimal("0.8500")) in rates
    assert not [r for r in rates if r.currency == "JPY" and r.day == date(2025, 12, 30)]


def test_the_daily_file_with_spaces_and_a_written_out_date() -> None:
    rates, refused = _parse((DATA / "eurofxref-daily-sample.csv").read_text())
    assert refused == []
    assert {r.currency for r in rates} == {"USD", "JPY", "GBP", "CHF", "CAD", "AUD"}
    assert {r.day for r in rates} == {date(2026, 1, 2)}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("2026-01-05,0,1", "outside"),
        ("2026-01-05,-1.2,1", "outside"),
        ("2026-01-05,abc,1", "ConversionSyntax"),
        ("2026-01-05,NaN,1", "outside"),
        ("2026-01-05,1e9,1", "outside"),
        ("1990-01-05,1.1,1", "outside"),
        ("yesterday,1.1,1", "not a date"),
    ],
)
def test_a_line_outside_the_bounds_is_refused_alone(line: str, reason: str) -> None:
    rates, refused = _parse(f"Date,USD,GBP,\n{line}\n2026-01-06,1.1,0.85,\n")
    assert [(r.day, r.currency) for r in rates] == [
        (date(2026, 1, 6), "USD"),
        (date(2026, 1, 6), "GBP"),
    ]
    [problem] = refused
    assert problem.startswith("line 2:")
    assert reason in problem


@pytest.mark.parametrize("header", ["day,USD", "Date,usd", "Date,EUR", ""])
def test_a_file_that_is_not_the_ecb_layout_is_refused(header: str) -> None:
    with pytest.raises(FxFormatError):
        _parse(f"{header}\n2026-01-06,1.1\n")


def test_the_webhook_contract_bounds_every_rate() -> None:
    ok = msgspec.convert({"date": "2026-01-02", "rates": {"GBP": "0.851"}}, FxRates, strict=False)
    assert (ok.base, ok.source, ok.rates) == ("EUR", "ECB", {"GBP": Decimal("0.851")})
    for bad in (
        {"date": "2026-01-02", "rates": {}},
        {"date": "2026-01-02", "rates": {"GBP": "0"}},
        {"date": "2026-01-02", "rates": {"EUR": "1"}},
        {"date": "2026-01-02", "rates": {"gbp": "0.85"}},
        {"date": "2026-01-02", "base": "USD", "rates": {"GBP": "0.8"}},
        {"date": "2026-01-02", "rates": {"GBP": "0.85"}, "source": "a\x00b"},
        {"date": "1998-12-31", "rates": {"GBP": "0.85"}},
    ):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(bad, FxRates, strict=False)
