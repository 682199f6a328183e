"""A tiny local StockX (token endpoint + API) that records every request, the real simulator
in its own process, and a runner for client worker processes that share one NATS server.

The server speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) for httpx, and runs in
the test's event loop, so request times are measured where StockX would measure them.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import nats
import pytest

from soleflip.common.bus.names import Names
from soleflip.common.crypto import Crypto
from soleflip.common.stockx import AUTH_BUCKET, BUDGET_BUCKET

WORKER = Path(__file__).parent / "_worker.py"
PRODUCT = {
    "productId": "p1",
    "urlKey": "k",
    "styleId": "DD1391-100",
    "productType": "sneakers",
    "title": "Dunk",
    "brand": "Nike",
    "productAttributes": None,
}


@dataclass
class Hit:
    at: float
    path: str
    form: dict[str, list[str]] = field(default_factory=dict)


class FakeStockX:
    """Issues tokens `access-N` valid for `expires_in` s; the API accepts only unexpired ones."""

    def __init__(self, *, expires_in: float = 43200, rotate: bool = False) -> None:
        self.expires_in = expires_in
        self.rotate = rotate
        self.tokens: list[Hit] = []
        self.api: list[Hit] = []
        self.rejected = 0
        self._valid_until: dict[str, float] = {}
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {
                    k.lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, payload = self._answer(method, target, headers, body)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, object]:
        now = time.time()
        if target.startswith("/oauth/token"):
            form = parse_qs(body.decode())
            self.tokens.append(Hit(now, target, form))
            token = f"access-{len(self.tokens)}"
            self._valid_until[token] = now + self.expires_in
            answer: dict[str, object] = {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
            }
            if self.rotate:
                answer["refresh_token"] = f"refresh-{len(self.tokens)}"
            return 200, answer
        self.api.append(Hit(now, target))
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if self._valid_until.get(token, 0.0) < now:
            self.rejected += 1
            return 401, {"statusCode": 401, "message": "Unauthorized"}
        return 200, PRODUCT


@pytest.fixture
async def stockx() -> AsyncIterator[FakeStockX]:
    server = FakeStockX()
    await server.start()
    yield server
    await server.stop()


#: the simulator's documented default credentials, as `_worker.py` settings
SIM_CREDENTIALS = {
    "stockx_client_id": "sim-client",
    "stockx_client_secret": "sim-secret",
    "stockx_refresh_token": "sim-refresh",
    "stockx_api_key": "sim-api-key",
}


class ServedSim:
    """`soleflip stockx-sim` in its own process (its own GIL and clock, like StockX), read
    through its control plane."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def api_requests(self) -> list[dict[str, Any]]:
        """The `/v2` log, each entry with `at` (epoch seconds of arrival) added."""
        found: list[dict[str, Any]] = self.http.get("/_sim/requests").json()["requests"]
        return [
            {**entry, "at": datetime.fromisoformat(entry["time"]).timestamp()} for entry in found
        ]

    def token_requests(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.http.get("/_sim/token-requests").json()["requests"]
        return found

    def faults(self, **faults: object) -> None:
        self.http.put("/_sim/faults", json=faults).raise_for_status()

    def a_product_id(self) -> str:
        products = self.http.get("/_sim/state/products").json()["products"]
        return str(products[0]["productId"])


@contextlib.contextmanager
def simulator_process(**sim_env: object) -> Iterator[ServedSim]:
    """Serve a fresh simulator; `sim_env` are `SOLEFLIP_SIM_*` settings (`rate_per_s=2`)."""
    from soleflip.stockx_sim.process import served_simulator

    with served_simulator(**sim_env) as url:
        sim = ServedSim(url)
        try:
            yield sim
        finally:
            sim.http.close()


def busiest_second(times: list[float]) -> int:
    """The most requests in any 1-s window [t, t + 1) starting at a request."""
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, t + 1.0) - i for i, t in enumerate(ordered))


@pytest.fixture
def start_sim() -> Iterator[Callable[..., ServedSim]]:
    """`start_sim(rate_per_s=2, ...)` serves a simulator for this test only."""
    with contextlib.ExitStack() as stack:
        yield lambda **sim_env: stack.enter_context(simulator_process(**sim_env))


@pytest.fixture
async def kv_cleanup(nats_url: str, names: Names) -> AsyncIterator[None]:
    """Delete this test's KV buckets afterwards: the NATS server is shared."""
    yield
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for bucket in (AUTH_BUCKET, BUDGET_BUCKET):
        with contextlib.suppress(Exception):
            await js.delete_key_value(names.bucket(bucket))
    await nc.close()


async def run_workers(
    configs: list[dict[str, Any]], limit_s: float = 60
) -> tuple[float, list[dict[str, Any]]]:
    """Run one `_worker.py` process per config; once all are connected, start them together.

    Phase times in the configs (`at`, `until`, `probe_at`) are seconds after that common start.
    Returns the start (epoch seconds) and the workers' JSON reports, in order.
    """
    key = Crypto.generate_key()
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            json.dumps({"fernet_key": key, **cfg}),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for cfg in configs
    ]
    async with asyncio.timeout(limit_s):
        for proc in procs:
            assert proc.stdout is not None
            line = await proc.stdout.readline()
            assert line == b"ready\n", line
        start = time.time() + 0.3
        outputs = await asyncio.gather(*(p.communicate(f"{start}\n".encode()) for p in procs))
    reports = []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()[-3000:]
        reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    return start, reports
