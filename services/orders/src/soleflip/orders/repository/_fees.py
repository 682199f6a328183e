"""Write SQL of orders' copy of pricing's fee schedules (`pricing.fees.updated`)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from soleflip.common.contracts.pricing import PublishedFeeSchedule
from soleflip.common.db import Conn

_encoder = msgspec.json.Encoder(decimal_format="string")

# A schedule is immutable at pricing (a PUT adds one), so a repeat of its id is a no-op.
STORE_SQL = """
INSERT INTO fee_schedule (schedule_id, effective_from, schedule)
SELECT schedule_id, effective_from, schedule
FROM json_to_recordset($1::text::json)
     AS t(schedule_id bigint, effective_from timestamptz, schedule jsonb)
ON CONFLICT (schedule_id) DO NOTHING
"""


async def store_fee_schedules(conn: Conn, published: Sequence[PublishedFeeSchedule]) -> None:
    rows = [
        {
            "schedule_id": p.schedule_id,
            "effective_from": p.schedule.effective_from,
            "schedule": p.schedule,
        }
        for p in published
    ]
    if rows:
        await conn.execute(STORE_SQL, _encoder.encode(rows).decode())
