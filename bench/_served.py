"""Services as real processes for the benches: a fresh database, `soleflip serve <service>`, and
their resident memory (RSS) sampled every 10 s while a bench drives them.

`served` starts one process (logs in the temp directory, read them when a figure looks wrong)
and waits for `/health/ready`; `RssSeries` samples the processes' RSS while its block runs and
reports the series, the last figure and the growth over the second half (the first half is
warm-up: caches, pools, the allocator's arenas).
"""

from __future__ import annotations

import asyncio
import importlib.resources
import os
import secrets
import sys
import tempfile
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench._cpu import rss_mb
from soleflip.common.db import migrate
from soleflip.common.localinfra import free_port
from soleflip.common.testing.plugin import database_dsn

SOLEFLIP = Path(sys.executable).parent / "soleflip"
DSN = os.environ.get("SOLEFLIP_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NATS = os.environ.get("SOLEFLIP_BENCH_NATS_URL", "nats://127.0.0.1:4222")
RSS_EVERY_S = 10.0


@asynccontextmanager
async def fresh_database(*services: str) -> AsyncIterator[str]:
    """A throwaway database with each service's schema migrated; dropped afterwards."""
    name = f"soleflip_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = database_dsn(DSN, name)
    for service in services:
        migrations = importlib.resources.files(f"soleflip.{service}") / "migrations"
        await migrate(dsn, service, migrations)
    try:
        yield dsn
    finally:
        admin = await asyncpg.connect(DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@dataclass(frozen=True)
class Served:
    """A running `soleflip serve` process."""

    name: str
    url: str
    pid: int

    @property
    def port(self) -> int:
        return urllib.parse.urlsplit(self.url).port or 80


@asynccontextmanager
async def served(service: str, env: dict[str, str]) -> AsyncIterator[Served]:
    """`soleflip serve <service>` on a free port, ready, until the block ends."""
    port = free_port()
    log = (Path(tempfile.gettempdir()) / f"bench-{service}-{port}.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        str(SOLEFLIP), "serve", service, "--port", str(port), env={**os.environ, **env},
        stdout=log, stderr=log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                if (await client.get(f"{url}/health/ready")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.returncode is not None:
                raise RuntimeError(f"{service} exited; see {log.name}")
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"{service} did not get ready; see {log.name}")
    try:
        yield Served(service, url, proc.pid)
    finally:
        proc.terminate()
        await proc.wait()
        log.close()


def growth(samples: list[float | None]) -> float | None:
    """RSS change over the second half of a run (the first half is warm-up: caches, pools)."""
    known = [v for v in samples if v is not None]
    if len(known) < 2:
        return None
    return round(known[-1] - known[len(known) // 2], 1)


class RssSeries:
    """The RSS of some processes every `RSS_EVERY_S` while the `async with` block runs."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.samples: dict[str, list[float | None]] = {name: [] for name in pids}
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.take()
            await asyncio.sleep(RSS_EVERY_S)

    def take(self) -> None:
        for name, pid in self.pids.items():
            self.samples[name].append(rss_mb(pid))

    async def __aenter__(self) -> RssSeries:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.take()  # the figure at the end of the load

    def growth(self) -> dict[str, float | None]:
        return {name: growth(values) for name, values in self.samples.items()}

    def flat(self, limit_mb: float) -> bool:
        """Every process grew by at most `limit_mb` over the second half."""
        return all(g is not None and g <= limit_mb for g in self.growth().values())

    def report(self) -> dict[str, Any]:
        """Last RSS per process, the series, and the second half's growth (MiB)."""
        last = {f"{name}_rss_mb": values[-1] for name, values in self.samples.items()}
        return {
            **last,
            "rss_mb_every_10_s": self.samples,
            "rss_growth_second_half_mb": self.growth(),
        }
