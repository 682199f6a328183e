"""A 200-SKU enrichment job survives `kill -9` of the process running it: the next run finishes
it without repeating any finished SKU's StockX calls, within search + product + variants each."""

from __future__ import annotations

import asyncio
import importlib.resources
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from soleflip.catalog.app import SERVICE
from soleflip.common.bus import Names
from soleflip.common.db import create_pool, migrate
from tests.support.sim import Sim, env_for, settings_for, simulator_process

SKUS = 200
CONCURRENCY = 4
ITEMS_SQL = "SELECT status, count(*) FROM enrichment_item GROUP BY status"
FINISHED_SQL = """
SELECT p.stockx_product_id FROM enrichment_item i JOIN product p ON p.id = i.product_id
WHERE i.status = 'resolved'
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    with simulator_process() as url:
        yield url


def _sync(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "soleflip.catalog.sync", "catalog", *args]
    cmd += ["--concurrency", str(CONCURRENCY)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def _finished(pool: asyncpg.Pool) -> int:
    counts = {r["status"]: r["count"] for r in await pool.fetch(ITEMS_SQL)}
    return sum(n for status, n in counts.items() if status != "pending")


async def _kill_midway(pool: asyncpg.Pool, proc: subprocess.Popen[bytes]) -> None:
    async with asyncio.timeout(60):
        while await _finished(pool) < SKUS // 4:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            await asyncio.sleep(0.01)  # the database is the only witness of progress
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


async def test_enrichment_resumes_after_kill_without_repeating_finished_skus(
    fresh_database: str, nats_url: str, names: Names, sim_url: str, tmp_path: Path
) -> None:
    sim = Sim(sim_url)
    sim.seed(77, 240)
    catalog = [p for p in sim.products() if p["styleId"]][:SKUS]
    sku_file = tmp_path / "skus.txt"
    sku_file.write_text("\n".join(p["styleId"] for p in catalog))
    await migrate(
        fresh_database, SERVICE, importlib.resources.files("soleflip.catalog") / "migrations"
    )
    env = env_for(settings_for(fresh_database, nats_url, names, sim_url))
    pool = await create_pool(fresh_database, schema=SERVICE, max_size=2)
    try:
        sim.http.put("/_sim/faults", json={"latency_ms": 15})  # long enough to die midway
        await _kill_midway(pool, _sync(env, "--file", str(sku_file)))
        finished_before = {r[0] for r in await pool.fetch(FINISHED_SQL)}
        sim.http.put("/_sim/faults", json={"latency_ms": 0})
        resumed = _sync(env)
        assert await asyncio.to_thread(resumed.wait, 120) == 0
        counts = {r["status"]: r["count"] for r in await pool.fetch(ITEMS_SQL)}
    finally:
        await pool.close()

    assert 0 < len(finished_before) < SKUS
    assert counts == {"resolved": SKUS}
    calls = Counter(r["path"] for r in sim.requests())
    for product_id in finished_before:
        assert calls[f"/v2/catalog/products/{product_id}"] == 1
        assert calls[f"/v2/catalog/products/{product_id}/variants"] == 1
    # Only items in flight at the kill may be asked again: at most one per worker.
    assert SKUS <= calls["/v2/catalog/search"] <= SKUS + CONCURRENCY
    assert sum(calls.values()) <= 3 * SKUS + 3 * CONCURRENCY
