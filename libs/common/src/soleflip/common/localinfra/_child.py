"""A service child process of `soleflip dev`, with its log and a readiness probe."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from soleflip.common.localinfra._proc import die_with_parent

#: Restart delays after a crash: 1 s, doubling up to 30 s; a child that ran for a minute
#: starts again from 1 s (one crash now and then is not a crash loop).
RESTART_FIRST_S, RESTART_MAX_S, STABLE_AFTER_S = 1.0, 30.0, 60.0


@dataclass
class Child:
    """One `soleflip serve <service>` process; its output goes to a log file (and the console)."""

    name: str
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=30))
    started_at: float = 0.0
    crashes: int = 0  # in a row, without a stable run between them
    restart_at: float | None = None

    def schedule_restart(self, now: float) -> float:
        """After a crash: when to start again (exponential backoff); the delay in seconds."""
        if now - self.started_at >= STABLE_AFTER_S:
            self.crashes = 0
        delay = min(RESTART_MAX_S, RESTART_FIRST_S * 2.0 ** min(self.crashes, 16))
        self.crashes += 1
        self.restart_at = now + delay
        return delay

    def start(self, env: Mapping[str, str], echo: bool) -> None:
        cmd = [sys.executable, "-m", "soleflip.common.cli", "serve", self.name]
        self.proc = subprocess.Popen(
            cmd,
            env={**env, "SOLEFLIP_HTTP_PORT": str(self.port)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop children in order
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        self.started_at, self.restart_at = time.monotonic(), None
        threading.Thread(target=self._pump, args=(self.proc.stdout, echo), daemon=True).start()

    def _pump(self, stream: IO[bytes] | None, echo: bool) -> None:
        if stream is None:
            return
        with self.log_path.open("ab") as log:
            for raw in stream:
                log.write(raw)
                log.flush()
                line = raw.decode(errors="replace").rstrip()
                self.tail.append(line)
                if echo:
                    print(f"{self.name:>10} | {line}", flush=True)

    @property
    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def last_lines(self) -> str:
        return "\n".join(f"    {line}" for line in self.tail) or "    (no output)"

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)


def answers_ready(url: str) -> bool:
    """200 from /health/ready; a 404 means a server up without health routes (the simulator)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - http we built
            return bool(answer.status == 200)
    except urllib.error.HTTPError as exc:
        return exc.code == 404
    except (urllib.error.URLError, OSError):
        return False
