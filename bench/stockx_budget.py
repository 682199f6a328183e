"""Benchmark of the shared StockX request budget (`KvBudget`) over real NATS.

N processes each run saturating callers at the `--load` priorities against one `stockx_budget`
key at the production rate (1/s by default), plus a USER_WRITE probe every `--probe-every`
seconds, for a minute or more, which is too long for the test suite.
Grant times are taken when `acquire` returns, i.e. when the request would be sent. Reports:
grants, the busiest 1-s window (must not exceed the rate), utilisation of the rate, and the
wait per priority (p50 / p99 / max), which shows the priorities at work under contention.

    .venv/bin/python bench/stockx_budget.py --processes 3 --seconds 60 --rate 1
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import multiprocessing as mp
import secrets
import statistics
import time
from typing import Any

import nats

from soleflip.common.bus.names import Names
from soleflip.common.stockx import BUDGET_BUCKET, KvBudget, Priority, open_bucket


async def _run(cfg: dict[str, Any]) -> dict[str, Any]:
    nc = await nats.connect(cfg["nats_url"])
    store = await open_bucket(nc.jetstream(), Names(cfg["prefix"]), BUDGET_BUCKET)
    budget = KvBudget(store, key="bench", rate_per_s=cfg["rate"], daily=1_000_000)
    grants: list[float] = []
    waits: dict[str, list[float]] = {p.name: [] for p in Priority}
    await asyncio.sleep(max(0.0, cfg["start"] - time.time()))

    async def caller(priority: Priority) -> None:
        while time.time() < cfg["until"]:
            started = time.monotonic()
            try:
                await budget.acquire(priority, cfg["until"] - time.time() + 1)
            except Exception:  # a timeout at the end of the run is expected
                return
            waits[priority.name].append(time.monotonic() - started)
            grants.append(time.time())

    async def probe() -> None:
        while time.time() + cfg["probe_every"] < cfg["until"]:
            await asyncio.sleep(cfg["probe_every"] * (0.5 + secrets.randbelow(1000) / 1000))
            started = time.monotonic()
            await budget.acquire(Priority.USER_WRITE, 30)
            waits["USER_WRITE"].append(time.monotonic() - started)
            grants.append(time.time())

    load = [Priority[name] for name in cfg["load"]]
    await asyncio.gather(probe(), *(caller(p) for p in load for _ in range(cfg["callers"])))
    await nc.close()
    return {"grants": grants, "waits": waits}


def _worker(cfg: dict[str, Any], out: Any) -> None:
    out.put(asyncio.run(_run(cfg)))


def _summary(
    results: list[dict[str, Any]], args: argparse.Namespace, start: float
) -> dict[str, Any]:
    grants = sorted(t for r in results for t in r["grants"])
    busiest = max(
        (bisect.bisect_left(grants, t + 1.0) - i for i, t in enumerate(grants)), default=0
    )
    in_run = [t for t in grants if t <= start + args.seconds]
    per_priority = {}
    for priority in Priority:
        waits = sorted(w for r in results for w in r["waits"][priority.name])
        if waits:
            per_priority[priority.name] = {
                "grants": len(waits),
                "p50_s": round(statistics.median(waits), 3),
                "p99_s": round(waits[int(0.99 * (len(waits) - 1))], 3),
                "max_s": round(waits[-1], 3),
            }
    return {
        "processes": args.processes,
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "grants": len(grants),
        "busiest_1s_window": busiest,
        "utilisation": round(len(in_run) / (args.rate * args.seconds), 3),
        "first_grant_delay_s": round(grants[0] - start, 3) if grants else None,
        "waits_by_priority": per_priority,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--callers", type=int, default=2, help="per priority per process")
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--load",
        default="CATALOG_REFRESH,LISTING_SYNC",
        help="comma-separated priorities that saturate the budget",
    )
    parser.add_argument("--probe-every", type=float, default=5.0)
    args = parser.parse_args()
    start = time.time() + 3.0
    cfg = {
        "nats_url": args.nats_url,
        "prefix": f"bench{secrets.token_hex(3)}",
        "rate": args.rate,
        "callers": args.callers,
        "load": args.load.split(","),
        "probe_every": args.probe_every,
        "start": start,
        "until": start + args.seconds,
    }
    out: Any = mp.get_context("spawn").Queue()
    procs = [
        mp.get_context("spawn").Process(target=_worker, args=(cfg, out))
        for _ in range(args.processes)
    ]
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    asyncio.run(_drop_bucket(args.nats_url, cfg["prefix"]))
    print(json.dumps(_summary(results, args, start), indent=2))


async def _drop_bucket(url: str, prefix: str) -> None:
    nc = await nats.connect(url)
    await nc.jetstream().delete_key_value(Names(prefix).bucket(BUDGET_BUCKET))
    await nc.close()


if __name__ == "__main__":
    main()
