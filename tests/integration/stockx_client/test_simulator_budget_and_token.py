"""Three client processes against the real simulator in a fourth: the shared budget as the
simulator's own request log and 429 accounting see it, and the single-flight token refresh as
its token endpoint sees it. The 30-s, 1 request/s run is `bench/stockx_sim_budget.py`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from soleflip.common.bus.names import Names
from tests.integration.stockx_client.conftest import (
    SIM_CREDENTIALS,
    ServedSim,
    busiest_second,
    run_workers,
)

pytest.importorskip("soleflip.stockx_sim")
pytestmark = pytest.mark.usefixtures("kv_cleanup")

RATE = 4.0
SECONDS = 8.0


def worker_config(sim: ServedSim, nats_url: str, names: Names, **extra: Any) -> dict[str, Any]:
    return {
        "server": sim.url,
        "nats_url": nats_url,
        "prefix": names.prefix,
        "credentials": SIM_CREDENTIALS,
        "product": sim.a_product_id(),
        **extra,
    }


async def test_three_saturating_processes_stay_within_the_simulators_rate_and_use_most_of_it(
    start_sim: Callable[..., ServedSim], nats_url: str, names: Names
) -> None:
    sim = start_sim(rate_per_s=RATE)
    load = {"kind": "load", "callers": 10, "at": 0.0, "until": SECONDS}
    config = worker_config(
        sim, nats_url, names, rate=RATE, phases=[{**load, "priority": "CATALOG_REFRESH"}]
    )
    config["phases"][0]["probe_at"] = [2.0, 4.5, 7.0]
    start, reports = await run_workers([config] * 3)
    log = sim.api_requests()
    assert [r for r in log if r["status"] != 200] == []  # not one 429 caused by us
    times = [r["at"] for r in log]
    assert busiest_second(times) <= RATE
    first, until = min(times), start + SECONDS
    used = len([t for t in times if t <= until]) / (RATE * (until - first))
    assert used >= 0.8, f"{used:.0%} of {RATE}/s used"
    assert sum(p["ok"] for r in reports for p in r["phases"]) + 9 == len(log)
    # USER_WRITE probes (three at once, one per process) overtake the CATALOG_REFRESH load.
    probes = [p for r in reports for phase in r["phases"] for p in phase["probes"]]
    assert len(probes) == 9
    assert max(probes) < 2.0, probes


@pytest.mark.parametrize("rotate", [False, True], ids=["no-rotation", "rotation"])
async def test_100_concurrent_calls_per_process_at_token_expiry_make_one_token_request(
    start_sim: Callable[..., ServedSim], nats_url: str, names: Names, rotate: bool
) -> None:
    # The client refreshes at 80 % of 8 s; the simulator's whole-second `exp` ends the token
    # 7 to 8 s after it was issued. The first burst is over long before either.
    sim = start_sim(rate_per_s=0, token_ttl_s=8, rotate_refresh_tokens=rotate)
    phases = [
        # no token anywhere yet: the first refresh
        {"at": 0.0, "kind": "burst", "calls": 100, "priority": "LISTING_SYNC"},
        # the shared token has expired at the simulator: the second refresh
        {"at": 9.0, "kind": "burst", "calls": 100, "priority": "LISTING_SYNC"},
    ]
    config = worker_config(sim, nats_url, names, rate=2000, phases=phases)
    _, reports = await run_workers([config] * 3)
    for report in reports:
        for phase in report["phases"]:
            assert phase["ok"] == 100, phase["errors"]
    grants = sim.token_requests()
    # With rotation the second grant succeeds only with the rotated refresh token.
    assert [(g["grant_type"], g["status"]) for g in grants] == [("refresh_token", 200)] * 2
    log = sim.api_requests()
    assert len(log) == 600
    assert {r["status"] for r in log} == {200}  # no call went out with the expired token
