"""`soleflip dev`: Postgres, NATS, the StockX simulator and every built service on one machine.

This module builds the children's environment, so it is the one place besides settings that
looks at `os.environ`: it must know which variables the developer set, to leave them alone.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from soleflip.common.cli_env import write_env_values
from soleflip.common.localinfra._child import Child, answers_ready
from soleflip.common.localinfra._devsecrets import load_or_create_secrets
from soleflip.common.localinfra._nats import NatsServer
from soleflip.common.localinfra._postgres import PostgresServer
from soleflip.common.localinfra._proc import InfraError, port_is_free

__all__ = [
    "DevError",
    "DevOptions",
    "DevStack",
    "load_or_create_secrets",
    "run_dev",
    "workspace_root",
]

# Start order: the simulator first (services talk to it), then the contract's services.
DEV_PORTS = {
    "stockx-sim": 8090,
    "ingest": 8000,
    "catalog": 8001,
    "orders": 8002,
    "pricing": 8003,
    "console": 8004,
}
PG_PORT, NATS_PORT = 5433, 4223
#: What `soleflip dev` writes into dev.env after starting (the connection URLs it uses).
_WRITTEN_URLS = (
    "SOLEFLIP_DATABASE_URL",
    "SOLEFLIP_ADMIN_DATABASE_URL",
    "SOLEFLIP_NATS_URL",
    "SOLEFLIP_NATS_PREFIX",
)
STOP_GRACE_S = 30.0  # uvicorn drains for up to 25 s
SIM_ENV = {
    "SOLEFLIP_STOCKX_API_URL": "http://127.0.0.1:8090/v2",
    "SOLEFLIP_STOCKX_AUTH_URL": "http://127.0.0.1:8090",
    "SOLEFLIP_STOCKX_CLIENT_ID": "sim-client",
    "SOLEFLIP_STOCKX_CLIENT_SECRET": "sim-secret",
    "SOLEFLIP_STOCKX_REFRESH_TOKEN": "sim-refresh",
    "SOLEFLIP_STOCKX_API_KEY": "sim-api-key",
}


SIM_STATE_LOST = (
    "; the simulator keeps StockX's truth in memory only: it comes back as its configured seed "
    "(SOLEFLIP_SIM_SEED), and what was seeded or happened there since is gone"
)


class DevError(RuntimeError):
    """`soleflip dev` cannot continue; the message says what failed and how to see why."""


@dataclass(frozen=True, slots=True)
class DevOptions:
    """Command-line options of `soleflip dev`."""

    data_dir: str | None = None
    quiet: bool = False
    timeout: float = 90.0


def workspace_root(start: Path) -> Path:
    """The nearest directory holding `uv.lock` (the repo root), else `start`."""
    for candidate in [start, *start.parents]:
        if (candidate / "uv.lock").is_file():
            return candidate
    return start


def built(service: str) -> bool:
    with contextlib.suppress(ModuleNotFoundError):
        return importlib.util.find_spec(f"soleflip.{service.replace('-', '_')}.app") is not None
    return False


class DevStack:
    """Starts everything in order, restarts a child that dies (the others keep running), and
    stops everything in reverse."""

    def __init__(self, options: DevOptions, environ: Mapping[str, str]) -> None:
        root = workspace_root(Path.cwd())
        self.options = options
        self.base = Path(options.data_dir) if options.data_dir else root / ".soleflip"
        self.environ = dict(environ)
        self.env = dict(environ)
        self.stopping = threading.Event()
        self.postgres: PostgresServer | None = None
        self.nats: NatsServer | None = None
        self.children: list[Child] = []
        self.admin_token: str | None = None

    def run(self) -> int:
        try:
            self._start_everything()
            self._print_table()
            return self._supervise()
        except (DevError, InfraError) as exc:
            print(f"soleflip dev: {exc}", file=sys.stderr)
            return 1
        except _Interrupted:
            return 0
        finally:
            self._stop_everything()

    def _start_everything(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "logs").mkdir(exist_ok=True)
        values, self.admin_token = load_or_create_secrets(self.base / "dev.env")
        if self.admin_token:  # print it now: startup may still fail, and it is never stored
            print(f"soleflip dev: new admin API token (shown once): {self.admin_token}")
        for key, value in values.items():
            if key not in _WRITTEN_URLS:  # this run's servers decide those, below
                self.env.setdefault(key, value)  # the developer's own variables win
        self.env.setdefault("SOLEFLIP_LOG_FORMAT", "console")
        services = [s for s in DEV_PORTS if built(s)]
        self._wire_simulator(services)
        self._check_ports(services)
        self._start_infra()
        self._record_urls()
        self._migrate()
        for name in services:
            self._start_child(name)
        for child in self.children:
            self._wait_ready(child)

    def _check_ports(self, services: list[str]) -> None:
        taken = [f"{s} ({DEV_PORTS[s]})" for s in services if not port_is_free(DEV_PORTS[s])]
        if taken:
            raise DevError(f"ports in use: {', '.join(taken)}; is another `soleflip dev` running?")

    def _start_infra(self) -> None:
        if not self.environ.get("SOLEFLIP_DATABASE_URL"):
            self.postgres = PostgresServer(self.base, port=PG_PORT)
            self.postgres.start()
            self.postgres.ensure_database("soleflip")
            self.env["SOLEFLIP_DATABASE_URL"] = self.postgres.dsn("soleflip")
            self.env.setdefault("SOLEFLIP_ADMIN_DATABASE_URL", self.postgres.dsn("soleflip"))
        if not self.environ.get("SOLEFLIP_NATS_URL"):
            self.nats = NatsServer(self.base, port=NATS_PORT)
            self.nats.start()
            self.env["SOLEFLIP_NATS_URL"] = self.nats.url
        self._check_interrupt()

    def _record_urls(self) -> None:
        """Put this run's Postgres and NATS URLs into dev.env, so `soleflip dlq list`, `sync`,
        `migrate` and `webhook send` run in the same directory find them without exports."""
        urls = {key: self.env[key] for key in _WRITTEN_URLS if self.env.get(key)}
        write_env_values(self.base / "dev.env", urls)

    def _wire_simulator(self, services: list[str]) -> None:
        if self.environ.get("SOLEFLIP_STOCKX_API_URL"):
            if "stockx-sim" in services:
                services.remove("stockx-sim")
            return
        for key, value in SIM_ENV.items():
            self.env.setdefault(key, value)
        if "ingest" in services:  # the simulator relays signed change events to ingest
            self.env.setdefault("SOLEFLIP_SIM_RELAY_URL", "http://127.0.0.1:8000/webhooks/stockx")
            stockx_secret = self.env["SOLEFLIP_WEBHOOK_SECRETS_STOCKX"].split(",")[0]
            self.env.setdefault("SOLEFLIP_SIM_RELAY_SECRET", stockx_secret)

    def _migrate(self) -> None:
        cmd = [sys.executable, "-m", "soleflip.common.cli", "migrate", "all"]
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise DevError(f"migrations failed:\n{done.stdout}{done.stderr}")
        print(done.stdout.strip(), flush=True)

    def _start_child(self, name: str) -> None:
        child = Child(name, DEV_PORTS[name], self.base / "logs" / f"{name}.log")
        child.start(self.env, echo=not self.options.quiet)
        self.children.append(child)

    def _wait_ready(self, child: Child) -> None:
        url = f"http://127.0.0.1:{child.port}/health/ready"
        deadline = time.monotonic() + self.options.timeout
        while time.monotonic() < deadline:
            self._check_interrupt()
            if child.exit_code is not None:
                raise DevError(self._died(child))
            if answers_ready(url):
                return
            time.sleep(0.2)
        raise DevError(
            f"{child.name} not ready after {self.options.timeout:.0f}s ({url}); "
            f"last lines of {child.log_path}:\n{child.last_lines()}"
        )

    def _died(self, child: Child) -> str:
        return (
            f"{child.name} exited with status {child.exit_code}; "
            f"last lines of {child.log_path}:\n{child.last_lines()}"
        )

    def _check_interrupt(self) -> None:
        if self.stopping.is_set():
            raise _Interrupted

    def _supervise(self) -> int:
        """Until Ctrl-C/SIGTERM: restart a child that died, alone, after a backoff."""
        while not self.stopping.wait(0.5):
            for child in self.children:
                self._tend(child, time.monotonic())
        return 0

    def _tend(self, child: Child, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at and not self.stopping.is_set():
                child.start(self.env, echo=not self.options.quiet)
                print(f"soleflip dev: {child.name} started again", file=sys.stderr, flush=True)
            return
        if child.exit_code is None:
            return
        delay = child.schedule_restart(now)
        lost = SIM_STATE_LOST if child.name == "stockx-sim" else ""
        print(
            f"soleflip dev: {self._died(child)}\nsoleflip dev: restarting {child.name} in "
            f"{delay:g} s (crash {child.crashes} in a row); the others keep running{lost}",
            file=sys.stderr,
            flush=True,
        )

    def _stop_everything(self) -> None:
        if self.children:
            print("soleflip dev: stopping...", flush=True)
        for child in reversed(self.children):
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in self.children:
            if child.proc is None:
                continue
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            child.signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=5)
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop()

    def _print_table(self) -> None:
        rows = [("service", "url", "log")]
        rows += [(c.name, f"http://127.0.0.1:{c.port}", str(c.log_path)) for c in self.children]
        rows.append(("postgres", self.env["SOLEFLIP_DATABASE_URL"], self._log_of(self.postgres)))
        rows.append(("nats", self.env["SOLEFLIP_NATS_URL"], self._log_of(self.nats)))
        width = [max(len(row[i]) for row in rows) for i in range(2)]
        print("\nSoleFlip dev is up. Ctrl-C stops everything.\n")
        for name, url, log in rows:
            print(f"  {name:<{width[0]}}  {url:<{width[1]}}  {log}")
        print(f"\n  API docs: <url>/schema · secrets: {self.base / 'dev.env'}")
        if any(c.name == "console" for c in self.children):
            print(
                f"  console: http://127.0.0.1:{DEV_PORTS['console']}/ (sign in with an API token)"
            )
        if self.admin_token:
            print(f"  admin API token (shown once; only its sha256 is kept): {self.admin_token}")
        print(flush=True)

    @staticmethod
    def _log_of(server: PostgresServer | NatsServer | None) -> str:
        return str(server.log_path) if server is not None else "(external)"


class _Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived while starting up."""


@contextlib.contextmanager
def _stop_on_signals(event: threading.Event) -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        event.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_dev(options: DevOptions) -> int:
    """Run the dev stack until Ctrl-C/SIGTERM (exit 0); a child that dies is restarted. Exit 1
    when start-up fails (a service that cannot become ready is not retried)."""
    stack = DevStack(options, os.environ)
    with _stop_on_signals(stack.stopping):
        return stack.run()
