"""Read SQL the write path checks before it acts: a listing's status and amount, and the fee
schedule (cached by `OrdersService`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from soleflip.common.db import Conn
from soleflip.common.fees import FeeSchedule
from soleflip.orders.domain import FeeBook

LISTING_STATUS_SQL = "SELECT status FROM listing WHERE listing_id = $1"
LISTING_AMOUNTS_SQL = """
SELECT listing_id, status, amount FROM listing WHERE listing_id = ANY($1::text[])
"""
FEE_SCHEDULE_SQL = "SELECT schedule FROM fee_schedule ORDER BY effective_from, schedule_id"
#: A cheap question per batch: did the copy of pricing's schedules change since it was read?
FEE_VERSION_SQL = "SELECT count(*), coalesce(max(schedule_id), 0) FROM fee_schedule"


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


async def fee_version(conn: Conn) -> tuple[int, int]:
    """How many schedules the copy holds and the newest id: changes whenever one is added."""
    count, last = await conn.fetchrow(FEE_VERSION_SQL) or (0, 0)
    return (count, last)


async def fee_schedule(conn: Conn) -> FeeBook:
    """Orders' copy of pricing's fee schedules (`pricing.fees.updated`)."""
    rows = await conn.fetch(FEE_SCHEDULE_SQL)
    return FeeBook(msgspec.convert(r["schedule"], FeeSchedule, strict=False) for r in rows)
