"""Fixtures for the common library's integration tests.

`bus_nc` / `bus_js`: a connection to the shared test server and the contract's streams under the
test's own `names` prefix (deleted afterwards, the server is shared).

`restartable_nats`: a throwaway `nats-server -js` of our own (file storage in a temp dir), which a
test may stop and start again on the same port, to exercise reconnects and server restarts.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from soleflip.common.bus import STREAMS, Names, connect, disconnect, ensure_streams


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RestartableNats:
    """A nats-server process that can be stopped and restarted with the same port and store."""

    def __init__(self, store: Path) -> None:
        self.binary = Path(sys.executable).parent / "nats-server"
        self.port = _free_port()
        self.store = store
        self.url = f"nats://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [str(self.binary), "-js", "-a", "127.0.0.1", "-p", str(self.port)]
        self._proc = subprocess.Popen(
            [*args, "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def restartable_nats(tmp_path: Path) -> Iterator[RestartableNats]:
    server = RestartableNats(tmp_path / "jetstream")
    if not server.binary.exists():
        pytest.skip(f"no nats-server binary at {server.binary}")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def bus_nc(nats_url: str) -> AsyncIterator[Client]:
    """A connection to the test NATS server, closed afterwards."""
    nc = await connect(nats_url, name="test-bus", first_connect_timeout=5)
    yield nc
    await disconnect(nc)


@pytest.fixture
async def bus_js(bus_nc: Client, names: Names) -> AsyncIterator[JetStreamContext]:
    """JetStream with the contract's streams under this test's prefix; deleted afterwards."""
    js = bus_nc.jetstream()
    await ensure_streams(js, names)
    yield js
    for spec in STREAMS:
        with contextlib.suppress(Exception):
            await js.delete_stream(names.stream(spec.name))
