"""Single-flight token refresh across separate processes sharing NATS KV."""

from __future__ import annotations

import pytest

from soleflip.common.bus.names import Names
from tests.integration.stockx_client.conftest import FakeStockX, run_workers

pytestmark = pytest.mark.usefixtures("kv_cleanup")


@pytest.mark.parametrize("rotate", [False, True], ids=["no-rotation", "rotation"])
async def test_300_concurrent_calls_in_3_processes_make_one_token_request_per_refresh(
    stockx: FakeStockX, nats_url: str, names: Names, rotate: bool
) -> None:
    # Refresh due at 6.4 s, expiry at 8 s: a first burst slowed by a loaded machine still ends
    # well before either, so each burst causes exactly one refresh.
    stockx.expires_in = 8.0
    stockx.rotate = rotate
    phases = [
        # no token anywhere yet: the first refresh
        {"at": 0.0, "kind": "burst", "calls": 100, "priority": "LISTING_SYNC"},
        # the shared token expired 1 s ago: the second refresh
        {"at": 9.0, "kind": "burst", "calls": 100, "priority": "LISTING_SYNC"},
    ]
    config = {
        "server": stockx.url,
        "nats_url": nats_url,
        "prefix": names.prefix,
        "rate": 2000,
        "phases": phases,
    }
    _, reports = await run_workers([config] * 3)
    for report in reports:
        for phase in report["phases"]:
            assert phase["ok"] == 100, phase["errors"]
    assert len(stockx.tokens) == 2
    assert len(stockx.api) == 600
    assert stockx.rejected == 0
    used = [hit.form["refresh_token"][0] for hit in stockx.tokens]
    assert used == (["refresh-0", "refresh-1"] if rotate else ["refresh-0", "refresh-0"])
    assert {hit.form["grant_type"][0] for hit in stockx.tokens} == {"refresh_token"}
