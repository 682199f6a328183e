"""Benchmark of ingest (issue 2): verified, durably published webhooks per second. Not a test.

    .venv/bin/python bench/ingest.py [--duration 10] [--connections 64] [--clients 1]
                                     [--worker-cpu 0.35] [--targets-only]

Starts a throwaway nats-server (or uses SOLEFLIP_BENCH_NATS_URL) and, one after the other under
uvicorn (uvloop + httptools): a bare ASGI endpoint, a bare Litestar endpoint that decodes the
body, and ingest with one then two workers; also raw pipelined JetStream publishes. The load
comes from separate processes (`_load.py`) sending signed ~1 KiB CloudEvents over keep-alive
connections. Prints one JSON document: requests/s, p50/p99, each figure as a ratio of the bare
ones, p99 at a fixed 1,000 req/s, and the CPU each process used (on a small machine the load
generator, NATS and the server share cores: read `cpu_pct` before blaming the server), and the
resident memory (`rss_mb`) of each watched process, with its children, at the end of each phase.

`targets` gathers issue 17's figures from the same run: ingest's rate against the bare ASGI
app's, both by wall clock and per busy core (1 / CPU per request: what one worker does with a
core to itself, the figure a shared machine does not distort), CPU per request at the fixed
rate against saturation, p99 at the fixed rate, and ingest's RSS under load. `--targets-only`
runs just the phases those need (bare ASGI, ingest saturated and at the fixed rate) and the
floor under both CPU targets: `bare_publish` (`_apps.py`: HTTP plus one durable JetStream
publish per request, none of ingest's checks), saturated and at the fixed rate, whose figures
`targets.bare_publish` prints next to ingest's.

`scaling_capped` repeats ingest with one then two workers, each worker put in its own cgroup
limited to `--worker-cpu` of a core (v1 cpu.cfs_quota_us under /sys/fs/cgroup/cpu, or v2
cpu.max), so the servers cannot take the cores NATS and the load generator need: its `ratio`
(two workers / one) shows the scaling a small machine hides. Needs root (or a delegated
cgroup); otherwise the phase says why it was skipped. The cgroups are removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._load import LoadSpec, run_load, summarize
from soleflip.common.localinfra import NatsServer, free_port

ROOT = Path(__file__).resolve().parent.parent
PATH = "/webhooks/stockx"


@contextmanager
def nats_url(workdir: Path) -> Iterator[tuple[str, psutil.Process | None]]:
    url = os.environ.get("SOLEFLIP_BENCH_NATS_URL")
    if url:
        yield url, None
        return
    server = NatsServer(workdir)
    server.start()
    try:
        proc = server._proc  # the bench only watches its CPU
        yield server.url, psutil.Process(proc.pid) if proc else None
    finally:
        server.stop()


@contextmanager
def uvicorn(target: str, env: dict[str, str], workers: int, log: Path) -> Iterator[dict[str, Any]]:
    """Run `target` (module:attribute) under uvicorn on a free port until the block ends."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    args += [
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--no-proxy-headers",
        "--no-server-header",
        "--log-level",
        "warning",
    ]
    args += ["--workers", str(workers)] + (
        ["--factory"] if target.endswith(("ingest", "litestar", "publish")) else []
    )
    with log.open("ab") as out:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_up(port, target.endswith("ingest"), proc)
        yield {"port": port, "process": psutil.Process(proc.pid)}
    finally:
        proc.terminate()
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        if proc.poll() is None:
            proc.kill()


def _wait_up(port: int, ready_check: bool, proc: subprocess.Popen[bytes]) -> None:
    url = f"http://127.0.0.1:{port}" + ("/health/ready" if ready_check else "/")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError as exc:
            if not ready_check and exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not come up")


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idling, since boot."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def cpu_seconds(procs: list[psutil.Process | None]) -> float:
    total = 0.0
    for proc in procs:
        if proc is None:
            continue
        with suppress(psutil.NoSuchProcess):
            for p in [proc, *proc.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
    return total


def load_specs(
    port: int, secret: str, args: argparse.Namespace, rate: float | None
) -> list[LoadSpec]:
    """One spec per generator process; a fixed-rate run uses one process."""
    clients = 1 if rate else args.clients
    return [
        LoadSpec(
            "127.0.0.1",
            port,
            PATH,
            args.connections // clients,
            args.duration,
            warmup_s=1.0,
            rate_per_s=rate,
            secret=secret,
            id_prefix=f"{secrets.token_hex(4)}-{i}",
        )
        for i in range(clients)
    ]


def measure(
    port: int,
    secret: str,
    args: argparse.Namespace,
    watched: dict[str, Any],
    rate: float | None = None,
) -> dict[str, Any]:
    """Drive load at `port`; figures plus the CPU used by the watched processes meanwhile."""
    marks: dict[str, Any] = {}

    def sample(key: str) -> None:
        cpus = {name: cpu_seconds([p]) for name, p in watched.items()}
        marks[key] = (time.perf_counter(), cpus, machine_busy_seconds())

    def stop() -> None:
        sample("stop")
        marks["rss"] = {name: rss_mb([p]) for name, p in watched.items()}

    specs = load_specs(port, secret, args, rate)
    results = run_load(specs, lambda: sample("start"), stop)
    figures = summarize(results, args.duration)
    figures.update(cpu_figures(marks["start"], marks["stop"], figures["requests_per_s"]))
    figures["rss_mb"] = marks["rss"]
    return figures


def rss_mb(procs: list[psutil.Process | None]) -> float | None:
    """Resident memory of the processes and their children, MiB (None: none to watch)."""
    total, seen = 0, False
    for proc in procs:
        if proc is None:
            continue
        with suppress(psutil.NoSuchProcess):
            for p in [proc, *proc.children(recursive=True)]:
                total += p.memory_info().rss
                seen = True
    return round(total / 2**20, 1) if seen else None


def cpu_figures(start: Any, stop: Any, requests_per_s: float) -> dict[str, Any]:
    """CPU of each watched process over the measured window, in total and per request."""
    (t0, before, busy0), (t1, after, busy1) = start, stop
    wall = t1 - t0
    cpu_pct = {name: round(100 * (after[name] - before[name]) / wall, 1) for name in before}
    # Everything the machine ran meanwhile, in % of one core: what is left after the server,
    # NATS and the load generator is other work competing for the same cores.
    cpu_pct["machine"] = round(100 * (busy1 - busy0) / wall, 1)
    # CPU per request does not depend on what else runs on the machine: the fair comparison.
    served = requests_per_s * wall
    per_request = {
        name: round(1e6 * (after[name] - before[name]) / served, 1) if served else None
        for name in before
    }
    # What one fully busy core would sustain at that cost (the per-worker capacity).
    server_us = per_request.get("server")
    return {
        "cpu_pct": cpu_pct,
        "cpu_us_per_request": per_request,
        "requests_per_s_per_busy_core": round(1e6 / server_us) if server_us else None,
    }


def _js_publish(url: str, prefix: str, duration: float, window: int, out: Any) -> None:
    """Raw JetStream: `window` pipelined publish_async calls at a time, 1 KiB, unique ids."""
    import nats
    import uvloop

    async def run() -> float:
        nc = await nats.connect(url)
        js = nc.jetstream()
        await js.add_stream(name=f"{prefix}_RAW", subjects=[f"{prefix}.raw.>"])
        payload, sent = b"x" * 1024, 0
        stop = time.perf_counter() + duration
        started = time.perf_counter()
        while time.perf_counter() < stop:
            futures = [
                await js.publish_async(
                    f"{prefix}.raw.a", payload, headers={"Nats-Msg-Id": f"{sent + i}"}
                )
                for i in range(window)
            ]
            await asyncio.gather(*futures)
            sent += window
        rate = sent / (time.perf_counter() - started)
        await js.delete_stream(f"{prefix}_RAW")
        await nc.close()
        return rate

    uvloop.install()
    out.send(asyncio.run(run()))


def jetstream(url: str, duration: float, nats_proc: psutil.Process | None) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    before, started = cpu_seconds([nats_proc]), time.perf_counter()
    proc = ctx.Process(
        target=_js_publish, args=(url, f"b{secrets.token_hex(3)}", duration, 1000, sender)
    )
    proc.start()
    rate = receiver.recv()
    proc.join()
    nats_cpu = 100 * (cpu_seconds([nats_proc]) - before) / (time.perf_counter() - started)
    return {
        "publishes_per_s": round(rate, 1),
        "window": 1000,
        "cpu_pct": {"nats": round(nats_cpu, 1)},
    }


CFS_PERIOD_US = 100_000
CGROUP_V1_CPU = Path("/sys/fs/cgroup/cpu")
CGROUP_V2_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))


def cpu_cgroup_root() -> tuple[Path, str] | str:
    """Where per-worker CPU caps can go, (root, "v1" | "v2"), or why they cannot."""
    if (CGROUP_V1_CPU / "cpu.cfs_quota_us").exists():
        root, kind = CGROUP_V1_CPU, "v1"
    else:
        roots = [r for r in CGROUP_V2_ROOTS if (r / "cgroup.controllers").exists()]
        with_cpu = [r for r in roots if "cpu" in (r / "cgroup.controllers").read_text().split()]
        if not with_cpu:
            return "no cgroup cpu controller (v1 /sys/fs/cgroup/cpu, v2 cpu.max)"
        root, kind = with_cpu[0], "v2"
    try:
        if kind == "v2":  # children only get cpu.max once the root hands the controller down
            (root / "cgroup.subtree_control").write_text("+cpu")
        probe = root / f"soleflip-bench-probe-{secrets.token_hex(3)}"
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        return f"cgroup {kind} at {root} not writable: {exc}"
    return root, kind


def worker_processes(supervisor: psutil.Process, workers: int, nats: str) -> list[psutil.Process]:
    """uvicorn's worker processes once each holds its NATS connection (app started)."""
    if workers == 1:  # uvicorn serves in the supervisor itself
        procs = [supervisor]
    else:
        procs = []
        deadline = time.monotonic() + 30
        while len(procs) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
            kids = supervisor.children()
            procs = [p for p in kids if "spawn_main" in " ".join(p.cmdline())]
    port = int(nats.rsplit(":", 1)[-1])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        conns = [[c.raddr for c in p.net_connections("tcp") if c.raddr] for p in procs]
        if len(procs) == workers and all(any(a.port == port for a in c) for c in conns):
            return procs
        time.sleep(0.1)
    raise RuntimeError(f"{workers} workers did not come up")


@contextmanager
def cpu_capped(
    procs: list[psutil.Process], where: tuple[Path, str], share: float
) -> Iterator[None]:
    """Each process in its own cgroup, limited to `share` of one core (CFS quota)."""
    root, kind = where
    quota, made = round(share * CFS_PERIOD_US), []
    try:
        for proc in procs:
            group = root / f"soleflip-bench-{secrets.token_hex(3)}-{proc.pid}"
            group.mkdir()
            made.append(group)
            if kind == "v1":
                (group / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            else:
                (group / "cpu.max").write_text(f"{quota} {CFS_PERIOD_US}")
            (group / "cgroup.procs").write_text(str(proc.pid))
        yield
    finally:
        for group in made:
            remove_cgroup(group, root)


def remove_cgroup(group: Path, root: Path) -> None:
    """Move what still runs in `group` back to the root, then remove it (rmdir, not rm -r)."""
    for _ in range(50):
        with suppress(OSError):
            for pid in (group / "cgroup.procs").read_text().split():
                with suppress(OSError):  # exited meanwhile
                    (root / "cgroup.procs").write_text(pid)
            group.rmdir()
            return
        time.sleep(0.1)
    print(f"could not remove {group}", file=sys.stderr)


def scaling_capped(
    url: str, nats_proc: Any, env: dict[str, str], args: argparse.Namespace, log: Path
) -> dict[str, Any]:
    """Ingest with 1 then 2 workers, each capped to --worker-cpu of a core, so that NATS and
    the load generator keep spare cores: per-worker throughput should not drop."""
    report: dict[str, Any] = {"worker_cpu": args.worker_cpu}
    where = cpu_cgroup_root() if args.worker_cpu > 0 else "--worker-cpu 0"
    if isinstance(where, str):
        return {**report, "skipped": where}
    report["cgroup"] = f"{where[1]} {where[0]}"
    secret = env["SOLEFLIP_WEBHOOK_SECRETS_STOCKX"]
    keep = ("requests_per_s", "p50_ms", "p99_ms", "statuses", "errors", "cpu_pct")
    for key, workers in (("one_worker", 1), ("two_workers", 2)):
        with uvicorn("bench._apps:ingest", env, workers, log) as server:
            procs = worker_processes(server["process"], workers, url)
            with cpu_capped(procs, where, args.worker_cpu):
                watched = {f"worker{i}": p for i, p in enumerate(procs)} | {"nats": nats_proc}
                figures = measure(server["port"], secret, args, watched)
        report[key] = {k: figures[k] for k in keep} | {"loadgen": figures["loadgen_cpu_pct"]}
    report["ratio"] = ratio(report["two_workers"], report["one_worker"])
    return report


def ratio(a: dict[str, Any], b: dict[str, Any]) -> float:
    return round(a["requests_per_s"] / b["requests_per_s"], 3) if b["requests_per_s"] else 0.0


def run_phases(url: str, nats_proc: Any, args: argparse.Namespace, log: Path) -> dict[str, Any]:
    """Every phase against one NATS, servers started and stopped one after the other."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    env = {
        "SOLEFLIP_NATS_URL": url,
        "SOLEFLIP_NATS_PREFIX": f"bench{secrets.token_hex(3)}",
        "SOLEFLIP_WEBHOOK_SECRETS_STOCKX": secret,
        "SOLEFLIP_WEBHOOK_RATE_PER_S": "1000000",
        "SOLEFLIP_LOG_FORMAT": "json",
    }
    report: dict[str, Any] = {}
    bare = [("bare_asgi", "bench._apps:bare_asgi")]
    if not args.targets_only:
        bare.append(("bare_litestar", "bench._apps:bare_litestar"))
    for name, target in bare:
        with uvicorn(target, env, 1, log) as server:
            watched = {"server": server["process"]}
            report[name] = measure(server["port"], secret, args, watched)
            if name == "bare_asgi":  # the machine's own latency floor at the fixed rate
                report[f"bare_asgi_at_{args.rate:g}_per_s"] = measure(
                    server["port"], secret, args, watched, rate=args.rate
                )
    for name, target in (
        ("bare_publish", "bench._apps:bare_publish"),
        ("ingest", "bench._apps:ingest"),
    ):
        with uvicorn(target, env, 1, log) as server:
            watched = {"server": server["process"], "nats": nats_proc}
            report[name] = measure(server["port"], secret, args, watched)
            report[f"{name}_at_{args.rate:g}_per_s"] = measure(
                server["port"], secret, args, watched, rate=args.rate
            )
    if args.targets_only:
        return report
    report["jetstream_raw"] = jetstream(url, args.duration, nats_proc)
    with uvicorn("bench._apps:ingest", env, 2, log) as server:
        watched = {"server": server["process"], "nats": nats_proc}
        report["ingest_2_workers"] = measure(server["port"], secret, args, watched)
    report["scaling_capped"] = scaling_capped(url, nats_proc, env, args, log)
    return report


def targets(report: dict[str, Any], rate: float) -> dict[str, Any]:
    """Issue 17's ingest targets, each figure next to the baseline it is divided by."""
    ingest, bare = report["ingest"], report["bare_asgi"]
    steady = report[f"ingest_at_{rate:g}_per_s"]
    per_core = ingest["requests_per_s_per_busy_core"], bare["requests_per_s_per_busy_core"]
    saturated_us = ingest["cpu_us_per_request"]["server"]
    steady_us = steady["cpu_us_per_request"]["server"]
    return {
        "bare_asgi_requests_per_s": bare["requests_per_s"],
        "ingest_requests_per_s": ingest["requests_per_s"],
        "ingest_vs_bare_asgi": ratio(ingest, bare),
        "bare_asgi_per_busy_core": per_core[1],
        "ingest_per_busy_core": per_core[0],
        "ingest_vs_bare_asgi_per_busy_core": (
            round(per_core[0] / per_core[1], 3) if all(per_core) else None
        ),
        "target_vs_bare_asgi": 0.4,
        "cpu_us_per_request_saturated": saturated_us,
        f"cpu_us_per_request_at_{rate:g}_per_s": steady_us,
        "steady_vs_saturated_cpu": (
            round(steady_us / saturated_us, 3) if steady_us and saturated_us else None
        ),
        "target_steady_vs_saturated_cpu": 1.5,
        f"p99_ms_at_{rate:g}_per_s": steady["p99_ms"],
        "target_p99_ms": 5,
        # The floor of both CPU targets: HTTP plus a durable publish, nothing of ingest's checks.
        "bare_publish": floor_figures(report, rate, saturated_us),
        "rss_mb_saturated": ingest["rss_mb"]["server"],
        f"rss_mb_at_{rate:g}_per_s": steady["rss_mb"]["server"],
        "cpu_pct_machine": [ingest["cpu_pct"]["machine"], steady["cpu_pct"]["machine"]],
    }


def floor_figures(
    report: dict[str, Any], rate: float, ingest_saturated_us: float
) -> dict[str, Any]:
    """`bare_publish`'s CPU per request saturated and at the fixed rate, the same ratios as
    ingest's targets, and its cost at the fixed rate against ingest's saturated cost: above 1.5,
    no receiver that waits for a PubAck meets the steady-rate target on this machine."""
    bare_us = report["bare_asgi"]["cpu_us_per_request"]["server"]
    saturated_us = report["bare_publish"]["cpu_us_per_request"]["server"]
    steady_us = report[f"bare_publish_at_{rate:g}_per_s"]["cpu_us_per_request"]["server"]
    return {
        "cpu_us_per_request_saturated": saturated_us,
        f"cpu_us_per_request_at_{rate:g}_per_s": steady_us,
        "vs_bare_asgi_per_busy_core": _ratio(bare_us, saturated_us),
        "steady_vs_saturated_cpu": _ratio(steady_us, saturated_us),
        "steady_vs_ingest_saturated_cpu": _ratio(steady_us, ingest_saturated_us),
        f"p99_ms_at_{rate:g}_per_s": report[f"bare_publish_at_{rate:g}_per_s"]["p99_ms"],
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def ratios(report: dict[str, Any]) -> dict[str, float]:
    ingest = report["ingest"]
    return {
        "ingest_vs_bare_asgi": ratio(ingest, report["bare_asgi"]),
        "ingest_vs_bare_litestar": ratio(ingest, report["bare_litestar"]),
        "ingest_vs_jetstream_raw": round(
            ingest["requests_per_s"] / report["jetstream_raw"]["publishes_per_s"], 3
        ),
        "two_workers_vs_one": ratio(report["ingest_2_workers"], ingest),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--clients", type=int, default=1, help="load generator processes")
    parser.add_argument("--rate", type=float, default=1000.0, help="fixed rate for the p99 run")
    parser.add_argument(
        "--worker-cpu",
        type=float,
        default=0.35,
        help="share of one core each worker gets in the capped scaling phase (0: skip it)",
    )
    parser.add_argument(
        "--targets-only",
        action="store_true",
        help="only the phases issue 17's targets need (bare ASGI and publish, ingest)",
    )
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": vars(args),
    }
    with (
        tempfile.TemporaryDirectory(prefix="soleflip-bench-") as tmp,
        nats_url(Path(tmp)) as (url, nats_proc),
    ):
        log = Path(tmp) / "server.log"
        report.update(run_phases(url, nats_proc, args, log))
        report["targets"] = targets(report, args.rate)
        if not args.targets_only:
            report["ratios"] = ratios(report)
        report["server_log_tail"] = log.read_text(errors="replace").splitlines()[-5:]
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
