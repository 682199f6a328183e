"""Read SQL of payouts: when each sale was (or is expected to be) paid, and what is pending.

The received date is the first status-history entry of PAYOUTCOMPLETED or COMPLETED (StockX's
`Payout` object carries amounts only); the expected date is authentication + 2 days, or sale +
10 days before authentication (`domain.PAYOUT_AFTER_*`, docs/payouts.md). The order row keeps
both dates, and the pending list reads them through a partial index in its order (0021).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from soleflip.common.db import Conn
from soleflip.orders.domain import NO_SALE_STATUSES, PAID_STATUSES


def _array(values: frozenset[str]) -> str:
    """A constant text[] literal (the statuses are code constants, never input)."""
    return "ARRAY[" + ", ".join(f"'{v}'" for v in sorted(values)) + "]::text[]"


def payout_columns(table: str = '"order"') -> str:
    """`payout_received_at` and `payout_expected_at` of each row of `table`, as the order row
    stores them (migration 0021 keeps them from the status history)."""
    return f"{table}.payout_received_at, {table}.payout_expected_at"


#: Sales not paid out and not fallen through (unknown statuses included: better seen than lost).
_PENDING = f"status <> ALL({_array(NO_SALE_STATUSES | PAID_STATUSES)})"
PENDING_SQL = f"""
SELECT order_number, status, currency, net_proceeds, fees_source, created_at,
       {payout_columns()}
FROM "order"
WHERE {_PENDING}
  AND ($1::timestamptz IS NULL OR (payout_expected_at, order_number) > ($1, $2::text))
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
