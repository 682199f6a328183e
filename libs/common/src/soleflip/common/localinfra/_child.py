"""A service child process of `soleflip dev`, with its log and a readiness probe."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from soleflip.common.localinfra._proc import die_with_parent


@dataclass
class Child:
    """One `soleflip serve <service>` process; its output goes to a log file (and the console)."""

    name: str
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=30))

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
