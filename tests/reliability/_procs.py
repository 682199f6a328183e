"""Real processes for the replica and SIGTERM tests: `soleflip serve <service>` replicas on one
NATS and Postgres, the StockX simulator's request log, and which replica holds a leader lock.

Each replica is what a container runs: its own process, configured only through `SOLEFLIP_*`
variables, logging to a file in the test's `tmp_path` (shown when a test fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import itertools
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import psutil  # type: ignore[import-untyped]

from soleflip.common.bus import Names
from soleflip.common.db import migrate
from soleflip.common.localinfra import free_port
from tests.support.sim import Sim, env_for, settings_for
from tests.support.wait import until

SOLEFLIP = Path(sys.executable).with_name("soleflip")
STARTUP_TIMEOUT_S = 45.0

# The client port of the session that leads `key` (its lease row in the service's schema).
LEADER_PORT_SQL = """
SELECT a.client_port FROM {schema}.leader l JOIN pg_stat_activity a ON a.pid = l.backend_pid
WHERE l.key = $1 AND l.expires_at > now()
"""


@dataclass(frozen=True, slots=True)
class LeaderKey:
    """Where `ServiceRuntime` records a leader task: a row `key` of `<schema>.leader`."""

    schema: str
    key: str


async def migrate_service(dsn: str, service: str) -> None:
    """Apply `service`'s migrations (and the library's) to a fresh database."""
    await migrate(dsn, service, importlib.resources.files(f"soleflip.{service}") / "migrations")


@contextlib.asynccontextmanager
async def migrated_db(dsn: str, service: str) -> AsyncIterator[asyncpg.Connection]:
    """`service` migrated into `dsn`, and a connection whose search path is its schema."""
    await migrate_service(dsn, service)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": service})
    try:
        yield conn
    finally:
        await conn.close()


def service_env(
    dsn: str, nats_url: str, names: Names, sim_url: str, **extra: str
) -> dict[str, str]:
    """`SOLEFLIP_*` variables for one test's database, NATS prefix and simulator, plus `extra`."""
    return env_for(settings_for(dsn, nats_url, names, sim_url)) | extra


def leader_key(names: Names, service: str, task: str) -> LeaderKey:
    """The lease row `ServiceRuntime` campaigns for to run a leader task."""
    return LeaderKey(service, f"{names.durable(service)}:{task}")


class ServiceProcess:
    """One `soleflip serve <service>` replica that a test can SIGKILL, SIGTERM and restart."""

    def __init__(self, service: str, env: dict[str, str], log: Path) -> None:
        self.service, self.env, self.log = service, env, log
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        command = [str(SOLEFLIP), "serve", self.service, "--host", "127.0.0.1"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*command, "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_ready(self) -> None:
        async with httpx.AsyncClient(timeout=2) as client:

            async def ready() -> bool:
                assert self.running, f"{self.service} exited during start-up:\n{self.tail()}"
                with contextlib.suppress(httpx.TransportError):
                    return (await client.get(f"{self.url}/health/ready")).status_code == 200
                return False

            await until(ready, STARTUP_TIMEOUT_S, what=f"{self.service} ready", interval=0.2)

    def kill(self) -> None:
        """A crash: SIGKILL, no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> None:
        """What the orchestrator sends first."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    async def wait(self, timeout: float) -> int:  # noqa: ASYNC109 - the grace period
        assert self.proc is not None
        return await asyncio.to_thread(self.proc.wait, timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def holds_local_port(self, port: int) -> bool:
        """True when one of this process's TCP connections has `port` as its local port."""
        if not self.running or self.proc is None:
            return False
        try:
            connections = psutil.Process(self.proc.pid).net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            return False
        return any(c.laddr and c.laddr.port == port for c in connections)

    def tail(self, chars: int = 3000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text[-chars:]


@contextlib.contextmanager
def replicas(
    service: str, env: dict[str, str], count: int, logs: Path
) -> Iterator[list[ServiceProcess]]:
    """`count` replicas of `service` (not started yet); any still running are killed at exit."""
    procs = [ServiceProcess(service, env, logs / f"{service}-{i}.log") for i in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.stop()


async def start_all(procs: Sequence[ServiceProcess]) -> None:
    """Start every replica at once and wait until each is ready."""
    for proc in procs:
        proc.start()
    await asyncio.gather(*(proc.wait_ready() for proc in procs))


async def leader_of(
    dsn: str, key: LeaderKey, procs: Sequence[ServiceProcess]
) -> ServiceProcess | None:
    """The replica whose Postgres session holds the lease `key`, if any does."""
    conn = await asyncpg.connect(dsn)
    try:
        sql = LEADER_PORT_SQL.format(schema=key.schema)
        ports = [row[0] for row in await conn.fetch(sql, key.key)]
    finally:
        await conn.close()
    holders = [p for p in procs for port in ports if p.holds_local_port(port)]
    assert len(holders) <= 1, f"{len(holders)} replicas hold {key}"
    return holders[0] if holders else None


async def wait_for_leader(
    dsn: str,
    key: LeaderKey,
    procs: Sequence[ServiceProcess],
    timeout: float = 20.0,  # noqa: ASYNC109
) -> ServiceProcess:
    """The replica holding `key` once one does (a campaign retries every 5 s)."""
    found: list[ServiceProcess] = []

    async def elected() -> bool:
        holder = await leader_of(dsn, key, procs)
        found[:] = [holder] if holder else []
        return bool(found)

    await until(elected, timeout, what=f"a leader for {key}", interval=0.2)
    return found[0]


def call_times(sim: Sim, path: str) -> list[float]:
    """Epoch seconds of every simulator API call to exactly `path`, in order."""
    return sorted(
        datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
        for r in sim.requests()
        if r["path"] == path
    )


def gaps(times: Sequence[float]) -> list[float]:
    """Seconds between successive times."""
    return [b - a for a, b in itertools.pairwise(times)]
