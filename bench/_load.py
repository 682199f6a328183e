"""An HTTP/1.1 keep-alive load generator for the benchmarks: raw asyncio sockets on uvloop.

Runs in its own process(es) so it never shares a core's event loop with the server under test.
Requests are built by a factory (signed on the fly, so ids stay unique and timestamps fresh);
responses are parsed just enough to find their end (status line + Content-Length). Two modes:
closed loop (each connection sends its next request when the last answer arrived: maximum
throughput) and open loop at a fixed rate (latency counted from the scheduled send time, so a
stalled server cannot hide queueing: no coordinated omission). Each process reports its own CPU
time, so a saturated generator shows up in the results instead of in the server's figures.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import multiprocessing
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RequestFactory = Callable[[int], bytes]


@dataclass(frozen=True)
class LoadSpec:
    """What one generator process does: where, how many connections, how long, what to send."""

    host: str
    port: int
    path: str
    connections: int
    duration_s: float
    warmup_s: float = 1.0
    rate_per_s: float | None = None  # None: closed loop, as fast as the server answers
    secret: str | None = None
    body_bytes: int = 1024
    id_prefix: str = "bench"
    #: What to send (a picklable callable, e.g. a `functools.partial` of a module-level
    #: function); None: `signed_requests`.
    requests: Callable[[LoadSpec], RequestFactory] | None = None


@dataclass
class LoadResult:
    """Latencies (seconds) of the measured window and what the generator itself cost."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    errors: int = 0


class _Window:
    """Marks the measured window: tells the parent (to sample server CPU) and times our CPU."""

    def __init__(self, out: Any, result: LoadResult) -> None:
        self.out, self.result = out, result
        self.wall = self.cpu = 0.0
        self.closed = asyncio.Event()

    def open(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.out.send("start")

    def close(self) -> None:
        self.result.wall_s = time.perf_counter() - self.wall
        self.result.cpu_s = time.process_time() - self.cpu
        self.out.send("stop")
        self.closed.set()


def signer(spec: LoadSpec) -> Callable[[str, bytes], bytes]:
    """`sign(msg_id, body)`: the whole signed POST of `body` to the spec's path (Standard
    Webhooks headers, the spec's secret, timestamp now)."""
    key = base64.b64decode(spec.secret.removeprefix("whsec_")) if spec.secret else b"k"
    head = f"POST {spec.path} HTTP/1.1\r\nhost: {spec.host}\r\ncontent-type: application/json\r\n"

    def sign(msg_id: str, body: bytes) -> bytes:
        ts = str(int(time.time()))
        mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
        signature = base64.b64encode(mac).decode()
        headers = (
            f"{head}webhook-id: {msg_id}\r\nwebhook-timestamp: {ts}\r\n"
            f"webhook-signature: v1,{signature}\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        return headers.encode() + body

    return sign


def signed_requests(spec: LoadSpec) -> RequestFactory:
    """A factory of signed ~1 KiB CloudEvent webhooks, each with a unique id."""
    sign = signer(spec)
    prefix = b'{"specversion":"1.0","type":"stockx.order.updated","source":"bench","id":"'
    data = b'","data":{"orderNumber":"75437-12345","status":"CREATED","amount":"140","pad":"'
    pad = b"x" * max(0, spec.body_bytes - len(prefix) - len(data) - 40)
    suffix = data + pad + b'"}}'

    def build(n: int) -> bytes:
        msg_id = f"{spec.id_prefix}-{n}"
        return sign(msg_id, prefix + msg_id.encode() + suffix)

    return build


class _Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports are not asyncio.Transport subclasses

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        start = head.find(b"content-length:")
        stop = head.find(b"\r\n", start)
        length = int(head[start + 15 : stop if stop >= 0 else None])
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        status = int(self.buffer[9:12])
        del self.buffer[:total]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(status)

    async def request(self, payload: bytes) -> int:
        assert self.transport is not None
        if self.lost:
            raise ConnectionError("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return await self.waiter


async def _open(spec: LoadSpec) -> list[_Connection]:
    loop = asyncio.get_running_loop()
    conns = []
    for _ in range(spec.connections):
        _, conn = await loop.create_connection(_Connection, spec.host, spec.port)
        conns.append(conn)
    return conns


async def _closed_loop(
    spec: LoadSpec, build: RequestFactory, result: LoadResult, window: _Window
) -> None:
    conns = await _open(spec)
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + spec.warmup_s
    stop_at = measure_from + spec.duration_s
    loop.call_at(measure_from, window.open)
    loop.call_at(stop_at, window.close)
    counter = iter(range(1 << 62))

    async def worker(conn: _Connection) -> None:
        while (now := loop.time()) < stop_at and not conn.lost:
            payload = build(next(counter))
            started = time.perf_counter()
            try:
                status = await conn.request(payload)
            except ConnectionError:
                result.errors += 1
                return
            if now >= measure_from:
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] += 1

    await asyncio.gather(*(worker(c) for c in conns))
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()


class _Paced:
    """Open loop: request n is due at `begin + n / rate`; an idle connection sends it, or it
    waits in the backlog for the next connection to come free (and that wait counts)."""

    def __init__(
        self, conns: list[_Connection], build: RequestFactory, result: LoadResult, spec: LoadSpec
    ) -> None:
        assert spec.rate_per_s
        self.build, self.result = build, result
        self.idle: deque[_Connection] = deque(conns)
        self.backlog: deque[tuple[int, float]] = deque()
        self.tasks: set[asyncio.Task[None]] = set()
        # perf_counter, not loop.time(): uvloop's clock has millisecond resolution.
        self.begin = time.perf_counter()
        self.measure_from = self.begin + spec.warmup_s
        self.stop_at = self.measure_from + spec.duration_s
        self.interval = 1.0 / spec.rate_per_s

    async def send(self, conn: _Connection, n: int, scheduled: float) -> None:
        while True:
            try:
                status = await conn.request(self.build(n))
            except ConnectionError:
                self.result.errors += 1
                return
            if scheduled >= self.measure_from:
                self.result.latencies.append(time.perf_counter() - scheduled)
                self.result.statuses[status] += 1
            if not self.backlog:
                self.idle.append(conn)
                return
            n, scheduled = self.backlog.popleft()

    async def run(self) -> None:
        loop, clock, n = asyncio.get_running_loop(), time.perf_counter, 0
        while (due := self.begin + n * self.interval) < self.stop_at:
            if due > clock():
                await asyncio.sleep(due - clock())
            while (scheduled := self.begin + n * self.interval) <= clock() and (
                scheduled < self.stop_at
            ):
                if self.idle:
                    task = loop.create_task(self.send(self.idle.popleft(), n, scheduled))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
                else:
                    self.backlog.append((n, scheduled))
                n += 1
        while self.tasks:
            await asyncio.gather(*list(self.tasks))


async def _open_loop(
    spec: LoadSpec, build: RequestFactory, result: LoadResult, window: _Window
) -> None:
    conns = await _open(spec)
    loop = asyncio.get_running_loop()
    paced = _Paced(conns, build, result, spec)
    loop.call_later(spec.warmup_s, window.open)
    loop.call_later(spec.warmup_s + spec.duration_s, window.close)
    await paced.run()
    await window.closed.wait()  # the last answers may come before the window's end
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()


def _run(spec: LoadSpec, out: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = LoadResult()
    build = (spec.requests or signed_requests)(spec)
    runner = _open_loop if spec.rate_per_s else _closed_loop
    asyncio.run(runner(spec, build, result, _Window(out, result)))
    out.send(result)
    out.close()


def run_load(
    specs: list[LoadSpec], on_start: Callable[[], None], on_stop: Callable[[], None]
) -> list[LoadResult]:
    """Run one generator process per spec, all at once; their results in order.

    `on_start`/`on_stop` run when the first generator opens / closes its measured window.
    """
    ctx = multiprocessing.get_context("spawn")
    pipes, procs = [], []
    for spec in specs:
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_run, args=(spec, sender), daemon=True)
        proc.start()
        pipes.append(receiver)
        procs.append(proc)
    assert pipes[0].recv() == "start"
    on_start()
    assert pipes[0].recv() == "stop"
    on_stop()
    results = []
    for index, pipe in enumerate(pipes):
        message = pipe.recv()
        while index and isinstance(message, str):  # the others' window marks
            message = pipe.recv()
        results.append(message)
    for proc in procs:
        proc.join(timeout=10)
    return results


def summarize(results: list[LoadResult], duration_s: float) -> dict[str, Any]:
    """Requests/s, latency percentiles (ms), statuses and the generators' own CPU use."""
    latencies = sorted(lat for r in results for lat in r.latencies)
    statuses: Counter[int] = Counter()
    for r in results:
        statuses.update(r.statuses)

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "requests_per_s": round(len(latencies) / duration_s, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": sum(r.errors for r in results),
        "loadgen_cpu_pct": [round(100 * r.cpu_s / r.wall_s, 1) for r in results if r.wall_s],
    }
