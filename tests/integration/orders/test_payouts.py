# ruff: noqa: F811 - a fixture is imported into this module, then requested by name
"""Payouts against the simulator: what StockX still owes (per currency and per sale, cursor-paged,
soonest expected first), when each sale is expected to pay, and when a paid one was paid (the
first PAYOUTCOMPLETED/COMPLETED in the status history: StockX's `Payout` carries no date)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from soleflip.orders.domain import (
    AUTHENTICATED_STATUSES,
    NO_SALE_STATUSES,
    PAID_STATUSES,
    PAYOUT_AFTER_AUTH_DAYS,
    PAYOUT_AFTER_SALE_DAYS,
)
from tests.integration.orders.support import sim_get
from tests.integration.orders.test_api import Api, api  # noqa: F401 - a fixture

_PRE_AUTH = {"CREATED", "SHIPPED", "RECEIVED", "AUTHENTICATING"}


def _ts(raw: str) -> datetime:
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


async def _all_pending(client: Api) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page of `GET /api/v1/payouts/pending` at 4 a page; (totals, items)."""
    items: list[dict[str, Any]] = []
    cursor, totals = None, None
    while True:
        query = "?limit=4" + (f"&cursor={cursor}" if cursor else "")
        page = await client.get(f"/api/v1/payouts/pending{query}")
        assert page.status_code == 200, page.text
        body = page.json()
        totals = totals if totals is not None else body["totals"]
        assert body["totals"] == totals  # every page carries the same totals
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return totals, items


async def test_pending_payouts_sum_what_the_simulator_has_not_paid(api: Api) -> None:
    truth = (await sim_get(api.sim_url, "/_sim/state/orders"))["orders"]
    pending = [o for o in truth if o["status"] not in NO_SALE_STATUSES | PAID_STATUSES]
    assert pending, "the seeded simulator has unpaid sales"
    want: dict[str, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    for order in pending:
        count, amount = want[order["currencyCode"]]
        want[order["currencyCode"]] = (count + 1, amount + Decimal(order["payout"]["totalPayout"]))
    totals, items = await _all_pending(api)
    got = {t["currency"]: (t["sales"], Decimal(t["amount"]["amount"])) for t in totals}
    assert got == dict(want)
    numbers = [i["order_number"] for i in items]
    assert sorted(numbers) == sorted(o["orderNumber"] for o in pending)  # each once, no gaps
    expected = [_ts(i["expected_at"]) for i in items]
    assert expected == sorted(expected)
    by_number = {o["orderNumber"]: o for o in pending}
    for item in items:
        order = by_number[item["order_number"]]
        assert Decimal(item["expected_payout"]["amount"]) == Decimal(order["payout"]["totalPayout"])
        if order["status"] in _PRE_AUTH:  # not authenticated: the sale + 10 days
            days = PAYOUT_AFTER_SALE_DAYS
            assert _ts(item["expected_at"]) == _ts(order["createdAt"]) + timedelta(days=days)
        if order["status"] in AUTHENTICATED_STATUSES:  # seen authenticated at its updatedAt
            days = PAYOUT_AFTER_AUTH_DAYS
            assert _ts(item["expected_at"]) == _ts(order["updatedAt"]) + timedelta(days=days)


async def test_a_paid_sale_shows_when_it_was_paid(api: Api) -> None:
    truth = (await sim_get(api.sim_url, "/_sim/state/orders"))["orders"]
    paid = [o for o in truth if o["status"] in PAID_STATUSES]
    unpaid = [o for o in truth if o["status"] not in NO_SALE_STATUSES | PAID_STATUSES]
    assert paid, "the seeded simulator has paid sales"
    for order in paid:
        view = (await api.get(f"/api/v1/orders/{order['orderNumber']}")).json()
        assert view["payout_expected_at"] is None
        received = _ts(view["payout_received_at"])
        assert received <= _ts(order["updatedAt"])
    view = (await api.get(f"/api/v1/orders/{unpaid[0]['orderNumber']}")).json()
    assert view["payout_received_at"] is None
    assert view["payout_expected_at"] is not None
    assert (await api.get("/api/v1/payouts/pending?cursor=garbage")).status_code == 422
    assert (await api.get("/api/v1/payouts/pending?limit=0")).status_code == 422
