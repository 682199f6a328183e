"""Write SQL of FX reference rates, and the repricing of sales converted with them."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import msgspec

from soleflip.common.db import Conn
from soleflip.common.fx import Rate

_encoder = msgspec.json.Encoder(decimal_format="string")

STORE_RATES_SQL = """
INSERT INTO fx_rate AS f (rate_date, currency, rate, source)
SELECT day, currency, rate, $2
FROM json_to_recordset($1::text::json) AS t(day date, currency text, rate numeric)
ON CONFLICT (currency, rate_date) DO UPDATE
SET rate = excluded.rate, source = excluded.source, recorded_at = now()
WHERE (f.rate, f.source) IS DISTINCT FROM (excluded.rate, excluded.source)
RETURNING rate_date
"""
# Sales bought in another currency whose sale date a changed rate may serve (up to 7 days after
# it, as fx_per_eur looks back): their profit is recomputed, and each is published (the columns
# of `SELECT_ORDERS_SQL`: what the repricing does not rewrite is published as read here).
CONVERTED_SALES_SQL = """
SELECT order_number, status, listing_id, stock_item_id, variant_id, product_id, amount, currency,
       net_proceeds, fees_source, landed_cost, profit, roi, created_at, updated_at
FROM "order"
WHERE fx_status IS NOT NULL
  AND (coalesce(created_at, updated_at) AT TIME ZONE 'UTC')::date
      BETWEEN $1::date AND $2::date + 7
ORDER BY order_number
"""


async def store_rates(
    conn: Conn, rates: Sequence[Rate], source: str
) -> tuple[int, list[asyncpg.Record]]:
    """Upsert `rates`; returns how many rows changed and the sales whose profit may move."""
    if not rates:
        return 0, []
    changed = await conn.fetch(STORE_RATES_SQL, _encoder.encode(list(rates)).decode(), source)
    if not changed:
        return 0, []
    days = [row["rate_date"] for row in changed]
    return len(changed), list(await conn.fetch(CONVERTED_SALES_SQL, min(days), max(days)))
