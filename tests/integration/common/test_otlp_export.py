"""Traces reach a collector: a served app configured by `configure_observability` exports its
spans over OTLP/HTTP to the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (here a real HTTP receiver
speaking the OTLP protobuf protocol), with asyncpg and httpx client spans in the request's trace,
and no span for health probes. Without the variable nothing is exported and nothing fails."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from soleflip.common.localinfra import free_port
from tests.integration.common.test_http_serve import wait_until_live

SERVER_SCRIPT = textwrap.dedent(
    """
    import sys
    import asyncpg, httpx
    from litestar import get
    from soleflip.common.http import create_app, serve
    from soleflip.common.observability import configure_observability
    from soleflip.common.settings import load_settings

    settings = load_settings()
    configure_observability("otlp-test", settings)
    database_url, ping_url = sys.argv[2], sys.argv[3]

    @get("/work")
    async def work() -> dict[str, int]:
        conn = await asyncpg.connect(database_url)
        try:
            value = await conn.fetchval("SELECT 41 + 1")
        finally:
            await conn.close()
        async with httpx.AsyncClient() as client:
            status = (await client.get(ping_url)).status_code
        return {"value": value, "ping": status}

    app = create_app(service="otlp-test", settings=settings, route_handlers=[work])
    serve(app, host="127.0.0.1", port=int(sys.argv[1]))
    """
)


class Receiver:
    """A minimal OTLP/HTTP collector: stores every `POST /v1/traces` request, answers `GET`."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.paths.append(self.path)
                if self.path == "/v1/traces":
                    receiver.requests.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[tuple[str, Any]]:
        """(service.name, span) of every span received."""
        found = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    found += [(attrs.get("service.name", ""), s) for s in scope_spans.spans]
        return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def serve_app(
    tmp_path: Path, database_url: str, receiver: Receiver, otel: dict[str, str]
) -> tuple[subprocess.Popen[str], str]:
    script = tmp_path / "server.py"
    script.write_text(SERVER_SCRIPT)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {"SOLEFLIP_LOG_FORMAT": "json", "OTEL_BSP_SCHEDULE_DELAY": "100", **otel}
    process = subprocess.Popen(
        [sys.executable, str(script), str(port), database_url, f"{receiver.url}/ping"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_live(url, process)
    return process, url


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=30)
    return output


@pytest.mark.timeout(60)
def test_spans_of_a_served_request_reach_an_otlp_http_collector(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
    process, url = serve_app(tmp_path, database_url, receiver, otel)
    try:
        for _ in range(3):
            assert httpx.get(f"{url}/health/ready", timeout=5).status_code == 200
        assert httpx.get(f"{url}/work", timeout=10).json() == {"value": 42, "ping": 204}
        deadline = time.monotonic() + 15
        while not any(s.name == "GET /work" for _, s in receiver.spans()):
            assert time.monotonic() < deadline, f"no server span exported: {receiver.paths}"
            time.sleep(0.1)
    finally:
        output = stop(process)
    spans = receiver.spans()
    assert {service for service, _ in spans} == {"otlp-test"}
    (server,) = [s for _, s in spans if s.name == "GET /work"]
    in_trace = [s for _, s in spans if s.trace_id == server.trace_id]
    kinds = {s.name: s.kind for s in in_trace}
    database = [s for s in in_trace if any(a.key == "db.system" for a in s.attributes)]
    assert database, f"no asyncpg span in the trace: {sorted(kinds)}"
    assert any(s.name.startswith("GET") and s is not server for s in in_trace), sorted(kinds)
    assert not [s.name for _, s in spans if "health" in s.name], "health probes were traced"
    assert "Traceback" not in output


@pytest.mark.timeout(60)
def test_without_an_endpoint_nothing_is_exported_and_nothing_fails(
    tmp_path: Path, database_url: str, receiver: Receiver
) -> None:
    process, url = serve_app(tmp_path, database_url, receiver, {})
    try:
        assert httpx.get(f"{url}/work", timeout=10).json() == {"value": 42, "ping": 204}
        time.sleep(0.5)  # several export intervals
    finally:
        output = stop(process)
    assert receiver.paths == []
    assert "Traceback" not in output
    assert '"level": "error"' not in output
