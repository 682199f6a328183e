"""CPU accounting for benchmarks on a shared machine: figures that do not swing with the load.

Wall-clock events/s depends on what else the box runs; CPU seconds per event do not (much). A
`CpuMeter` samples, at start and stop, this process's CPU time, the CPU time of given Postgres
backends (`/proc/<pid>/stat`, when the server runs on this machine) and the machine's busy and
total jiffies (`/proc/stat`), so a reader can turn "events/s" into "events/s per busy core".
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu_s(pid: int) -> float | None:
    """utime + stime of a process in seconds (None when it is gone or not ours to read)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _machine() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class CpuMeter:
    """Start/stop sampler; `backends` are Postgres backend pids to charge to the run."""

    backends: dict[int, float] = field(default_factory=dict)
    _wall: float = 0.0
    _self: float = 0.0
    _machine: tuple[int, int] = (0, 0)
    _load: float = 0.0

    def start(self) -> None:
        self._wall, self._self = time.perf_counter(), time.process_time()
        self._machine, self._load = _machine(), os.getloadavg()[0]

    def add_backends(self, pids: list[int], *, from_now: bool = False) -> None:
        """Charge backends first seen here with their CPU since they started, or with
        `from_now` since this call (pooled backends that did other work before the run)."""
        for pid in pids:
            if pid not in self.backends:
                self.backends[pid] = (_proc_cpu_s(pid) or 0.0) if from_now else 0.0

    def report(self, events: int) -> dict[str, Any]:
        """Per-event CPU of this process and the backends, machine busy cores and load."""
        wall = time.perf_counter() - self._wall
        own = time.process_time() - self._self
        pg = sum((_proc_cpu_s(p) or 0.0) - base for p, base in self.backends.items())
        busy, total = (a - b for a, b in zip(_machine(), self._machine, strict=True))
        cores = os.cpu_count() or 1
        busy_cores = cores * busy / total if total else 0.0
        readable = any(_proc_cpu_s(p) is not None for p in self.backends)
        return {
            "orders_cpu_s": round(own, 3),
            "orders_cpu_us_per_event": round(own / events * 1e6, 1),
            "orders_events_per_cpu_s": round(events / own) if own else None,
            "postgres_cpu_s": round(pg, 3) if readable else None,
            "postgres_cpu_us_per_event": round(pg / events * 1e6, 1) if readable else None,
            "events_per_cpu_s_orders_plus_postgres": (
                round(events / (own + pg)) if readable else None
            ),
            "machine_busy_cores": round(busy_cores, 2),
            "machine_cores": cores,
            "load_avg_1m_start": round(self._load, 2),
            "load_avg_1m_end": round(os.getloadavg()[0], 2),
            "wall_s": round(wall, 3),
        }


def rss_mb(pid: int) -> float | None:
    """Resident set size of a process in MiB (None when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None
