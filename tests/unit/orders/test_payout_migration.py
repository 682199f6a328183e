"""Migration 0021's copies of the payout statuses and days equal the domain's and the pending
list's: the stored dates and the list's partial index follow what the code says."""

from __future__ import annotations

import importlib.resources
import re

from soleflip.orders.domain import (
    AUTHENTICATED_STATUSES,
    NO_SALE_STATUSES,
    PAID_STATUSES,
    PAYOUT_AFTER_AUTH_DAYS,
    PAYOUT_AFTER_SALE_DAYS,
)
from soleflip.orders.queries._payouts import PENDING_SQL

SQL = (
    importlib.resources.files("soleflip.orders") / "migrations" / "0021_payout_times.sql"
).read_text()


def _statuses(text: str) -> set[str]:
    return set(re.findall(r"'([A-Z]+)'", text))


def test_the_stored_dates_know_the_domain_statuses_and_days() -> None:
    lists = {frozenset(_statuses(m)) for m in re.findall(r"status IN \(([^)]*)\)", SQL)}
    assert lists == {
        AUTHENTICATED_STATUSES,
        PAID_STATUSES,
        AUTHENTICATED_STATUSES | PAID_STATUSES,
    }
    days = re.findall(r"interval '(\d+) days'", SQL)
    assert days == [str(PAYOUT_AFTER_AUTH_DAYS), str(PAYOUT_AFTER_SALE_DAYS)]


def test_the_pending_index_has_the_pending_lists_filter() -> None:
    index = re.search(r"CREATE INDEX order_payout_pending .*?\nWHERE (.*?);", SQL, re.S)
    assert index is not None
    predicate = " ".join(index.group(1).split())
    assert _statuses(predicate) == NO_SALE_STATUSES | PAID_STATUSES
    listed = re.search(r"WHERE (status <> ALL\(.*?\))\n", PENDING_SQL)
    assert listed is not None
    assert predicate.replace("ALL (", "ALL(") == listed.group(1)
