"""The orders poll loop against the simulator: start-to-start cadence, the convergence bound,
and a short retry when StockX is not there yet at start-up."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from datetime import datetime

from soleflip.common.localinfra import free_port
from soleflip.common.settings import Settings
from soleflip.orders.settings import OrdersSettings
from tests.integration.orders.support import (
    mismatches,
    run_service,
    running_sim,
    sim_config,
    sim_get,
    sim_post,
    with_sim,
)
from tests.support.wait import until

INTERVAL_S = 2.0
LATENCY_MS = 300


def _at(entry: dict[str, str]) -> float:
    return datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()


async def test_polls_start_one_interval_apart_and_a_change_is_mirrored_within_the_bound(
    orders_settings: Settings,
) -> None:
    async with running_sim(sim_config(orders=10, listings=20)) as url:
        options = OrdersSettings(poll_interval_s=INTERVAL_S)
        async with run_service(with_sim(orders_settings, url), options) as service:
            await until(lambda: _converged(service, url), 30)
            await sim_post(url, "/_sim/faults", {"latency_ms": LATENCY_MS}, method="PUT")
            await sim_post(url, "/_sim/requests/clear", {})
            starts = await until(lambda: _poll_starts(url, 4), 30, what="4 polls", interval=0.5)
            gaps = [b - a for a, b in itertools.pairwise(starts)]
            # Each idle poll makes 2 calls of 0.3 s: waiting after the poll would make >= 2.6 s.
            assert len(gaps) >= 3
            assert statistics.median(gaps) < INTERVAL_S + 0.25, gaps
            # A change at StockX (a buyer buys) is mirrored within one interval plus its calls
            # (the lists, the listing's and order's single calls: at most 6 x 0.3 s here).
            await sim_post(url, "/_sim/orders", {})
            changed = time.monotonic()
            await until(lambda: _converged(service, url), 30, interval=0.1)
            assert time.monotonic() - changed <= INTERVAL_S + 6 * LATENCY_MS / 1000 + 0.5


async def _poll_starts(url: str, polls: int) -> list[float] | None:
    requests = (await sim_get(url, "/_sim/requests"))["requests"]
    starts = [_at(r) for r in requests if r["path"] == "/v2/selling/orders/active"]
    return starts if len(starts) >= polls else None


async def _converged(service: object, url: str) -> bool:
    return await mismatches(service, url) == []  # type: ignore[arg-type]


async def test_a_poll_failing_at_start_up_is_retried_within_seconds_not_an_interval(
    orders_settings: Settings,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    options = OrdersSettings(poll_interval_s=3600)
    async with run_service(with_sim(orders_settings, url), options) as service:
        await asyncio.sleep(1.0)  # the first poll fails: nothing listens on the token endpoint
        async with running_sim(sim_config(orders=10, listings=20), port=port):
            started = time.monotonic()
            await until(lambda: _converged(service, url), 30, interval=0.2)
            assert time.monotonic() - started < 20
