"""FX reference rates (`soleflip fx import`, `fx.rates.published`): store them, reprice sales.

A sale of a unit bought in another currency waits as `fx_missing` until a rate of its sale date
(or of the 7 days before) exists; storing such a rate recomputes its profit and publishes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from soleflip.common.contracts.ingest import FxRates
from soleflip.common.db import Conn, enqueue_many
from soleflip.common.fx import Rate
from soleflip.orders import repository as repo
from soleflip.orders.events import order_events


async def record_rates(rates: Sequence[Rate], *, conn: Conn, source: str) -> int:
    """Store `rates` from `source` in the caller's transaction; returns the rows changed."""
    changed, sales = await repo.store_rates(conn, rates, source)
    if sales:
        repriced = await repo.reprice_profit(conn, [row["order_number"] for row in sales])
        await enqueue_many(conn, order_events(repo.last_written("order_number", sales, repriced)))
    return changed


def rates_of(published: Iterable[FxRates]) -> dict[str, list[Rate]]:
    """The rates of `fx.rates.published` events, grouped by source (the last one of a day wins)."""
    by_source: dict[str, dict[tuple[str, object], Rate]] = {}
    for day in published:
        table = by_source.setdefault(day.source, {})
        for currency, rate in day.rates.items():
            table[(currency, day.date)] = Rate(day.date, currency, rate)
    return {source: list(table.values()) for source, table in by_source.items()}
