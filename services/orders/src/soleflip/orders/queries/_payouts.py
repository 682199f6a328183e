"""Read SQL of payouts: when each sale was (or is expected to be) paid, and what is pending.

The received date is the first status-history entry of PAYOUTCOMPLETED or COMPLETED (StockX's
`Payout` object carries amounts only); the expected date is authentication + 2 days, or sale +
10 days before authentication (`domain.PAYOUT_AFTER_*`, docs/payouts.md).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from soleflip.common.db import Conn
from soleflip.orders.domain import (
    AUTHENTICATED_STATUSES,
    NO_SALE_STATUSES,
    PAID_STATUSES,
    PAYOUT_AFTER_AUTH_DAYS,
    PAYOUT_AFTER_SALE_DAYS,
)


def _array(values: frozenset[str]) -> str:
    """A constant text[] literal (the statuses are code constants, never input)."""
    return "ARRAY[" + ", ".join(f"'{v}'" for v in sorted(values)) + "]::text[]"


def _first(statuses: frozenset[str], table: str) -> str:
    """The first time the order of `table` entered one of `statuses` (constants only)."""
    where = f"h.order_number = {table}.order_number AND h.status = ANY({_array(statuses)})"
    return f"(SELECT min(h.changed_at) FROM order_status_history h WHERE {where})"  # noqa: S608


def payout_columns(table: str = '"order"') -> str:
    """`payout_received_at` and `payout_expected_at` of each row of `table`."""
    expected = (
        f"coalesce({_first(AUTHENTICATED_STATUSES, table)}"
        f" + interval '{PAYOUT_AFTER_AUTH_DAYS} days',"
        f" coalesce({table}.created_at, {table}.updated_at)"
        f" + interval '{PAYOUT_AFTER_SALE_DAYS} days')"
    )
    return (
        f"{_first(PAID_STATUSES, table)} AS payout_received_at,"
        f" CASE WHEN {table}.status = ANY({_array(PAID_STATUSES)}) THEN NULL"
        f" ELSE {expected} END AS payout_expected_at"
    )


#: Sales not paid out and not fallen through (unknown statuses included: better seen than lost).
_PENDING = f"status <> ALL({_array(NO_SALE_STATUSES | PAID_STATUSES)})"
PENDING_SQL = f"""
WITH pending AS (
    SELECT o.order_number, o.status, o.currency, o.net_proceeds, o.fees_source, o.created_at,
           {payout_columns("o")}
    FROM "order" o WHERE o.{_PENDING}
)
SELECT * FROM pending
WHERE ($1::timestamptz IS NULL OR (payout_expected_at, order_number) > ($1, $2::text))
ORDER BY payout_expected_at, order_number
LIMIT $3
"""  # noqa: S608 - only code constants are interpolated
PENDING_TOTALS_SQL = f"""
SELECT currency, count(*) AS sales, sum(net_proceeds) AS amount,
       count(*) FILTER (WHERE fees_source = 'estimate') AS estimated,
       count(*) FILTER (WHERE net_proceeds IS NULL) AS unknown
FROM "order"
WHERE {_PENDING} AND currency IS NOT NULL
GROUP BY currency ORDER BY currency
"""  # noqa: S608 - only code constants are interpolated


async def pending_payouts(
    conn: Conn, *, after: tuple[datetime, str] | None, limit: int
) -> list[asyncpg.Record]:
    """Pending payouts by expected date, a page after the cursor `(expected_at, order_number)`."""
    at, number = after if after else (None, None)
    return list(await conn.fetch(PENDING_SQL, at, number, limit))


async def pending_totals(conn: Conn) -> list[asyncpg.Record]:
    """Per currency: how many sales are pending and the sum of their (expected) payouts."""
    return list(await conn.fetch(PENDING_TOTALS_SQL))
