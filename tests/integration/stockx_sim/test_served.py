"""The simulator served by uvicorn on a real port, as `soleflip serve stockx-sim` runs it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from soleflip.common.settings import Settings
from soleflip.stockx_sim import SimConfig, create_app


@pytest.fixture
def served(sim_config: SimConfig) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = uvicorn.Config(
        create_app(Settings(), sim_config), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_operations_settle_in_the_background_over_http(served: str) -> None:
    with httpx.Client(base_url=served) as http:
        token = http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": "sim-refresh",
                "client_id": "sim-client",
                "client_secret": "sim-secret",
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "x-api-key": "sim-api-key"}
        variant = http.get("/_sim/state/products").json()["products"][0]["variants"][0]
        created = http.post(
            "/v2/selling/listings",
            headers=headers,
            json={"amount": "140", "variantId": variant["variantId"]},
        )
        assert created.status_code == 201
        url = created.json()["operationUrl"]
        assert url.startswith(served + "/v2/selling/listings/")
        time.sleep(0.5)
        state = http.get("/_sim/state/listings").json()["listings"]
        mine = next(x for x in state if x["listingId"] == created.json()["listingId"])
        assert mine["lastOperation"]["operationStatus"] == "SUCCEEDED"
        assert http.get(url, headers=headers).json()["operationStatus"] == "SUCCEEDED"
