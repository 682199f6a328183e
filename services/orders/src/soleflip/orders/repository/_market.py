"""Write SQL of orders' copy of the latest market per variant (`pricing.market.updated`)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from soleflip.common.contracts.pricing import MarketSnapshot
from soleflip.common.db import Conn

_encoder = msgspec.json.Encoder(decimal_format="string")

# Newest observation wins (ties: the later event), so redelivered or reordered events never move
# a variant's market backwards; the batch is reduced to one row per key first.
STORE_SQL = """
INSERT INTO market_latest AS m (variant_id, currency, product_id, lowest_ask, highest_bid,
                                observed_at)
SELECT DISTINCT ON (variant_id, currency)
       variant_id, currency, product_id, lowest_ask, highest_bid, observed_at
FROM json_to_recordset($1::text::json)
     AS t(variant_id text, currency text, product_id text, lowest_ask numeric,
          highest_bid numeric, observed_at timestamptz, seq int)
ORDER BY variant_id, currency, observed_at DESC, seq DESC
ON CONFLICT (variant_id, currency) DO UPDATE SET
    product_id = coalesce(excluded.product_id, m.product_id),
    lowest_ask = excluded.lowest_ask,
    highest_bid = excluded.highest_bid,
    observed_at = excluded.observed_at,
    updated_at = now()
WHERE excluded.observed_at >= m.observed_at
"""


async def store_market(conn: Conn, snapshots: Sequence[MarketSnapshot]) -> None:
    """Keep the newest of `snapshots` per (variant, currency) unless a newer one is stored."""
    rows = [
        {
            "variant_id": s.variant_id,
            "currency": s.currency,
            "product_id": s.product_id,
            "lowest_ask": s.lowest_ask,
            "highest_bid": s.highest_bid,
            "observed_at": s.observed_at,
            "seq": seq,
        }
        for seq, s in enumerate(snapshots)
    ]
    if rows:
        await conn.execute(STORE_SQL, _encoder.encode(rows).decode())
