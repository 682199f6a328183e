"""`serve` under real uvicorn: requests are served, and SIGTERM drains in-flight work cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar import get

from soleflip.common.http import build_server, create_app, serve_async
from soleflip.common.settings import Settings

SERVER_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from litestar import get
    from soleflip.common.http import create_app, serve
    from soleflip.common.observability import configure_observability, get_logger
    from soleflip.common.settings import load_settings

    settings = load_settings()
    configure_observability("serve-test", settings, env={})

    @get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(1.0)
        return {"done": "yes"}

    def closed() -> None:
        get_logger("test").info("lifespan shutdown ran")

    app = create_app(
        service="serve-test", settings=settings, route_handlers=[slow], on_shutdown=[closed]
    )
    serve(app, host="127.0.0.1", port=int(sys.argv[1]))
    get_logger("test").info("serve returned")
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_live(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(f"{url}/health/live", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail("server did not become live")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    script = tmp_path / "server.py"
    script.write_text(SERVER_SCRIPT)
    port = free_port()
    env = {**os.environ, "SOLEFLIP_LOG_FORMAT": "json", "SOLEFLIP_LOG_LEVEL": "info"}
    process = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_live(url, process)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sigterm_drains_in_flight_requests_and_exits_cleanly(
    server: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = server
    result: dict[str, httpx.Response] = {}
    slow = threading.Thread(target=lambda: result.update(r=httpx.get(f"{url}/slow", timeout=10)))
    slow.start()
    time.sleep(0.3)  # the request is in flight
    process.send_signal(signal.SIGTERM)
    slow.join(timeout=10)
    assert result["r"].status_code == 200
    assert result["r"].json() == {"done": "yes"}
    assert process.wait(timeout=30) == 0
    assert process.stdout is not None
    lines = [
        json.loads(line) for line in process.stdout.read().splitlines() if line.startswith("{")
    ]
    events = [line["event"] for line in lines]
    assert "lifespan shutdown ran" in events
    assert events[-1] == "serve returned"
    access = [line for line in lines if line["event"] == "http request"]
    assert [a["route"] for a in access] == ["/slow"]
    # uvicorn's own lines come through the same JSON pipeline; its access log is off.
    assert any(line.get("logger") == "uvicorn.error" for line in lines)
    assert not any(line.get("logger") == "uvicorn.access" for line in lines)


def test_server_answers_without_server_header_and_with_request_id(
    server: tuple[subprocess.Popen[str], str],
) -> None:
    _, url = server
    response = httpx.get(f"{url}/health/ready")
    assert response.status_code == 200
    assert "server" not in response.headers
    assert response.headers["x-request-id"]


async def wait_started(server: uvicorn.Server) -> None:
    for _ in range(500):
        if server.started:
            return
        await asyncio.sleep(0.02)
    pytest.fail("server did not start")


async def test_several_servers_share_one_loop_and_stop_on_request() -> None:
    @get("/who")
    async def who() -> str:
        return "me"

    servers = [
        build_server(
            create_app(service=f"svc{i}", settings=Settings(), route_handlers=[who]),
            host="127.0.0.1",
            port=free_port(),
            install_signal_handlers=False,
        )
        for i in range(2)
    ]
    tasks = [asyncio.create_task(serve_async(s)) for s in servers]
    async with httpx.AsyncClient() as client:
        for s in servers:
            await wait_started(s)
            response = await client.get(f"http://127.0.0.1:{s.config.port}/who")
            assert response.text == "me"
    for s in servers:
        s.should_exit = True
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
