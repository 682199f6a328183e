"""The sales report's split of a window into summary months, summary days and single orders,
and the migration's copy of the statuses that are no sale."""

from __future__ import annotations

import importlib.resources
import re
from datetime import UTC, date, datetime

from soleflip.orders.domain import NO_SALE_STATUSES
from soleflip.orders.queries._reports import tiers_of


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_long_window_reads_whole_months_whole_days_and_partial_days() -> None:
    t = tiers_of(_at("2026-01-15T10:30"), _at("2026-04-03T08:00"), months=True)
    assert (t.d0, t.m0, t.m1, t.d1) == (
        date(2026, 1, 16), date(2026, 2, 1), date(2026, 4, 1), date(2026, 4, 3),
    )  # fmt: skip
    assert (t.t0, t.t1) == (_at("2026-01-16T00:00"), _at("2026-04-03T00:00"))


def test_day_keys_read_no_month_rows_and_midnights_are_whole_days() -> None:
    t = tiers_of(_at("2026-01-01T00:00"), _at("2026-03-01T00:00"), months=False)
    assert t.m0 == t.m1 == t.d1 == date(2026, 3, 1)
    assert t.d0 == date(2026, 1, 1)
    assert (t.t0, t.t1) == (_at("2026-01-01T00:00"), _at("2026-03-01T00:00"))
    months = tiers_of(_at("2026-01-01T00:00"), _at("2026-03-01T00:00"), months=True)
    assert (months.m0, months.m1) == (date(2026, 1, 1), date(2026, 3, 1))


def test_a_window_within_one_day_reads_single_orders_only() -> None:
    start, end = _at("2026-05-05T01:00"), _at("2026-05-05T23:00")
    t = tiers_of(start, end, months=True)
    assert t.m0 == t.m1 == t.d0 == t.d1
    assert (t.t0, t.t1) == (end, end)
    december = tiers_of(_at("2026-12-02T00:00"), _at("2027-01-05T00:00"), months=True)
    assert december.m0 == december.m1 == date(2027, 1, 5)  # no whole month: day rows only


def test_the_summary_migration_knows_the_domain_no_sale_statuses() -> None:
    sql = (
        importlib.resources.files("soleflip.orders") / "migrations" / "0014_sales_summary.sql"
    ).read_text()
    body = re.search(r"RETURN status IN \(([^)]*)\)", sql)
    assert body is not None
    assert set(re.findall(r"'([A-Z]+)'", body.group(1))) == NO_SALE_STATUSES
