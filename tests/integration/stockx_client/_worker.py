"""One client process for the integration tests: connects to NATS, builds the production
`StockXClient` and runs the scenario named in its JSON argument; prints a JSON report."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import nats

from soleflip.common.bus.names import Names
from soleflip.common.settings import Settings
from soleflip.common.stockx import Priority, StockXClient, StockXError, TokenTiming

#: phase keys holding seconds relative to the common start time
TIMES = ("at", "until")


async def sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.time()))


async def burst(client: StockXClient, n: int, priority: Priority, product: str) -> dict[str, Any]:
    results = await asyncio.gather(
        *(client.get_product(product, priority=priority) for _ in range(n)),
        return_exceptions=True,
    )
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    return {"ok": n - len(errors), "errors": errors[:5]}


async def load(client: StockXClient, cfg: dict[str, Any]) -> dict[str, Any]:
    """`callers` loops calling as fast as the budget allows until `until`; optional probes of
    higher priority at `probe_at` times record their latency."""
    until, priority, product = cfg["until"], Priority[cfg["priority"]], cfg["product"]
    done: dict[str, Any] = {"ok": 0, "errors": []}

    async def caller() -> None:
        while time.time() < until:
            try:
                await client.get_product(product, priority=priority)
                done["ok"] += 1
            except StockXError as exc:
                done["errors"].append(repr(exc))
                await asyncio.sleep(0.05)

    async def probe(at: float) -> float:
        await sleep_until(at)
        started = time.monotonic()
        await client.get_product(
            product, priority=Priority[cfg.get("probe_priority", "USER_WRITE")]
        )
        return time.monotonic() - started

    probes = [asyncio.create_task(probe(at)) for at in cfg.get("probe_at", [])]
    await asyncio.gather(*(caller() for _ in range(cfg["callers"])))
    return {**done, "errors": done["errors"][:5], "probes": await asyncio.gather(*probes)}


#: the credentials `conftest.FakeStockX` accepts; a config's "credentials" replace them
FAKE_CREDENTIALS = {
    "stockx_client_id": "cid",
    "stockx_client_secret": "secret",
    "stockx_refresh_token": "refresh-0",
    "stockx_api_key": "key-1",
}


async def main(cfg: dict[str, Any]) -> dict[str, Any]:
    settings = Settings(
        stockx_api_url=cfg["server"] + "/v2",
        stockx_auth_url=cfg["server"],
        stockx_rate_per_s=cfg["rate"],
        stockx_daily_budget=1_000_000,
        fernet_keys=(cfg["fernet_key"],),
        **cfg.get("credentials", FAKE_CREDENTIALS),
    )
    nc = await nats.connect(cfg["nats_url"])
    client = await StockXClient.connect(
        settings,
        nc.jetstream(),
        names=Names(cfg["prefix"]),
        timing=TokenTiming(poll_s=0.02),
    )
    report: dict[str, Any] = {"phases": []}
    # Barrier: tell the test we are connected, then wait for the common start time.
    print("ready", flush=True)
    base = float(await asyncio.to_thread(sys.stdin.readline))
    async with client:
        for phase in cfg["phases"]:
            phase = {**phase, **{k: base + v for k, v in phase.items() if k in TIMES}}
            phase["probe_at"] = [base + v for v in phase.get("probe_at", [])]
            phase["product"] = cfg.get("product", "p1")
            await sleep_until(phase["at"])
            if phase["kind"] == "burst":
                priority = Priority[phase["priority"]]
                result = await burst(client, phase["calls"], priority, phase["product"])
            else:
                result = await load(client, phase)
            report["phases"].append(result)
    await nc.close()
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
