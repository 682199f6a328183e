"""The StockX budget end to end: N client processes against the real simulator, judged by it.

Starts `soleflip stockx-sim` in its own process at `--rate` requests/s (its 429 accounting on),
then N processes, each with the production `StockXClient` (token and budget shared through NATS
KV), running saturating callers at the `--load` priorities plus USER_WRITE probes, one every
`--probe-every` seconds in turn. Judged from the simulator's own request log: requests, 429s, the
busiest 1-s window (must not exceed the rate), utilisation of the rate while there was demand,
and the probes' waits. The acceptance run of issue 3 (`tests/` runs a shorter one at 4/s):

    .venv/bin/python bench/stockx_sim_budget.py --processes 3 --seconds 30 --rate 1
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import multiprocessing as mp
import secrets
import time
from datetime import datetime
from typing import Any

import httpx
import nats

from soleflip.common.bus.names import Names
from soleflip.common.crypto import Crypto
from soleflip.common.settings import Settings
from soleflip.common.stockx import AUTH_BUCKET, BUDGET_BUCKET, Priority, StockXClient, StockXError
from soleflip.stockx_sim.process import served_simulator


def _settings(cfg: dict[str, Any]) -> Settings:
    return Settings(
        stockx_api_url=cfg["sim"] + "/v2",
        stockx_auth_url=cfg["sim"],
        stockx_client_id="sim-client",
        stockx_client_secret="sim-secret",
        stockx_refresh_token="sim-refresh",
        stockx_api_key="sim-api-key",
        stockx_rate_per_s=cfg["rate"],
        fernet_keys=(cfg["fernet_key"],),
    )


async def _run(cfg: dict[str, Any]) -> dict[str, Any]:
    """One process: callers at the load priorities until `until`, and its USER_WRITE probes."""
    nc = await nats.connect(cfg["nats_url"])
    client = await StockXClient.connect(_settings(cfg), nc.jetstream(), names=Names(cfg["prefix"]))
    errors: list[str] = []
    await asyncio.sleep(max(0.0, cfg["start"] - time.time()))

    async def caller(priority: Priority) -> None:
        while True:
            try:
                await client.get_product(cfg["product"], priority=priority)
            except StockXError as exc:
                errors.append(repr(exc))

    async def probe(at: float) -> float:
        await asyncio.sleep(at - time.time())
        started = time.monotonic()
        await client.get_product(cfg["product"], priority=Priority.USER_WRITE)
        return time.monotonic() - started

    load = [Priority[name] for name in cfg["load"]]
    async with client:
        probes = asyncio.gather(*(probe(at) for at in cfg["probe_at"]))
        callers = asyncio.gather(*(caller(p) for p in load for _ in range(cfg["callers"])))
        # Demand ends at `until`: the callers still queued for a slot are cancelled.
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(callers, cfg["until"] - time.time())
        waits = await probes
    await nc.close()
    return {"errors": errors[:5], "error_count": len(errors), "probes": waits}


def _worker(cfg: dict[str, Any], out: Any) -> None:
    out.put(asyncio.run(_run(cfg)))


def _busiest_second(times: list[float]) -> int:
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


def _summary(
    sim: str, results: list[dict[str, Any]], args: argparse.Namespace, until: float
) -> dict[str, Any]:
    log = httpx.get(f"{sim}/_sim/requests").json()["requests"]
    times = sorted(datetime.fromisoformat(r["time"]).timestamp() for r in log)
    during = [t for t in times if t <= until]
    probes = sorted(p for r in results for p in r["probes"])
    tokens = httpx.get(f"{sim}/_sim/token-requests").json()["requests"]
    return {
        "processes": args.processes,
        "callers_per_priority_per_process": args.callers,
        "load": args.load,
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "requests_seen_by_simulator": len(log),
        "status_429": sum(1 for r in log if r["status"] == 429),
        "other_non_200": sum(1 for r in log if r["status"] not in (200, 429)),
        "busiest_1s_window": _busiest_second(times),
        "utilisation": round(len(during) / (args.rate * (until - times[0])), 3) if times else 0,
        "token_requests": len(tokens),
        "probe_waits_s": [round(p, 3) for p in probes],
        "client_errors": sum(r["error_count"] for r in results),
        "client_error_samples": [e for r in results for e in r["errors"]][:3],
    }


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--callers", type=int, default=5, help="per priority per process")
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--load", default="CATALOG_REFRESH,LISTING_SYNC")
    parser.add_argument("--probe-every", type=float, default=3.0, help="seconds between probes")
    return parser.parse_args()


def _run_processes(cfg: dict[str, Any], processes: int, every: float) -> list[dict[str, Any]]:
    """Processes take turns to probe, one probe every `every` s, so probes never queue behind
    each other: each one measures the wait behind the load alone."""
    context = mp.get_context("spawn")
    out: Any = context.Queue()
    procs = []
    for index in range(processes):
        first = cfg["start"] + 2.0 + index * every
        probe_at = [first + k * every * processes for k in range(int(cfg["seconds"] // every))]
        mine = {**cfg, "probe_at": [t for t in probe_at if t < cfg["until"] - 3.0]}
        procs.append(context.Process(target=_worker, args=(mine, out)))
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    return results


async def _drop_buckets(url: str, prefix: str) -> None:
    nc = await nats.connect(url)
    for bucket in (AUTH_BUCKET, BUDGET_BUCKET):
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_key_value(Names(prefix).bucket(bucket))
    await nc.close()


def main() -> None:
    args = _parse()
    with served_simulator(rate_per_s=args.rate) as sim:
        products = httpx.get(f"{sim}/_sim/state/products").json()["products"]
        start = time.time() + 4.0  # spawned processes import and connect first
        cfg = {
            "sim": sim,
            "nats_url": args.nats_url,
            "prefix": f"bench{secrets.token_hex(3)}",
            "fernet_key": Crypto.generate_key(),
            "product": products[0]["productId"],
            "rate": args.rate,
            "callers": args.callers,
            "load": args.load.split(","),
            "seconds": args.seconds,
            "start": start,
            "until": start + args.seconds,
        }
        results = _run_processes(cfg, args.processes, args.probe_every)
        asyncio.run(_drop_buckets(args.nats_url, cfg["prefix"]))
        print(json.dumps(_summary(sim, results, args, cfg["until"]), indent=2))


if __name__ == "__main__":
    main()
