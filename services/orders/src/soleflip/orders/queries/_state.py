"""Read SQL the write path checks before it acts: a listing's status and amount, and the fee
schedule (cached by `OrdersService`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from soleflip.common.db import Conn
from soleflip.orders.domain import FeeRule, FeeSchedule

LISTING_STATUS_SQL = "SELECT status FROM listing WHERE listing_id = $1"
LISTING_AMOUNTS_SQL = """
SELECT listing_id, status, amount FROM listing WHERE listing_id = ANY($1::text[])
"""
FEE_SCHEDULE_SQL = """
SELECT currency, effective_from, transaction_rate, minimum_fee, processing_rate, shipping_fee,
       cancellation_fee
FROM fee_schedule
"""


class ListingAmount(msgspec.Struct, frozen=True):
    """A stored listing's status and amount (what a reprice command is checked against)."""

    listing_id: str
    status: str
    amount: Decimal | None


async def listing_status(conn: Conn, listing_id: str) -> str | None:
    """The stored listing's status, or None when there is no such listing."""
    status: str | None = await conn.fetchval(LISTING_STATUS_SQL, listing_id)
    return status


async def listing_amounts(conn: Conn, listing_ids: Sequence[str]) -> dict[str, ListingAmount]:
    """Status and amount of each stored listing among `listing_ids`."""
    rows = await conn.fetch(LISTING_AMOUNTS_SQL, list(listing_ids))
    return {r["listing_id"]: ListingAmount(r["listing_id"], r["status"], r["amount"]) for r in rows}


async def fee_schedule(conn: Conn) -> FeeSchedule:
    """Every fee rule of the `fee_schedule` table."""
    rows = await conn.fetch(FEE_SCHEDULE_SQL)
    return FeeSchedule(
        FeeRule(
            r["currency"],
            r["effective_from"],
            r["transaction_rate"],
            r["minimum_fee"],
            r["processing_rate"],
            r["shipping_fee"],
            r["cancellation_fee"],
        )
        for r in rows
    )
