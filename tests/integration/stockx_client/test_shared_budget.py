"""The request budget shared by three processes, measured where StockX would measure it."""

from __future__ import annotations

from typing import Any

import pytest

from soleflip.common.bus.names import Names
from tests.integration.stockx_client.conftest import FakeStockX, busiest_second, run_workers

pytestmark = pytest.mark.usefixtures("kv_cleanup")
RATE = 5


def load_config(stockx: FakeStockX, nats_url: str, names: Names, **phase: Any) -> dict[str, Any]:
    return {
        "server": stockx.url,
        "nats_url": nats_url,
        "prefix": names.prefix,
        "rate": RATE,
        "phases": [{"kind": "load", "callers": 10, **phase}],
    }


async def test_three_aggressive_processes_never_exceed_the_rate_and_use_most_of_it(
    stockx: FakeStockX, nats_url: str, names: Names
) -> None:
    config = load_config(stockx, nats_url, names, at=0.0, until=6.0, priority="LISTING_SYNC")
    start, reports = await run_workers([config] * 3)
    until = start + 6.0
    assert all(not phase["errors"] for r in reports for phase in r["phases"])
    times = [hit.at for hit in stockx.api]
    assert busiest_second(times) <= RATE
    first = min(times)
    busy = [t for t in times if t <= until]
    assert len(busy) >= 0.8 * RATE * (until - first), f"{len(busy)} in {until - first:.2f} s"
    assert sum(phase["ok"] for r in reports for phase in r["phases"]) == len(times)


async def test_a_user_write_waits_under_2_s_behind_a_saturating_catalog_load(
    stockx: FakeStockX, nats_url: str, names: Names
) -> None:
    config = load_config(
        stockx,
        nats_url,
        names,
        at=0.0,
        until=6.0,
        priority="CATALOG_REFRESH",
        probe_at=[1.5, 3.0, 4.5],
    )
    _, reports = await run_workers([config] * 3)
    latencies = [p for r in reports for phase in r["phases"] for p in phase["probes"]]
    assert len(latencies) == 9
    assert max(latencies) < 2.0, latencies
    assert busiest_second([hit.at for hit in stockx.api]) <= RATE
