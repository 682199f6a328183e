"""The relay POSTs Standard-Webhooks-signed CloudEvents; loss and duplication are configurable."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from litestar.testing import TestClient
from standardwebhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"relay-test-secret-0123456789abcd").decode()
Client = TestClient[Any]


class _Receiver(BaseHTTPRequestHandler):
    """Records every POST (headers, body) and answers 202 like ingest."""

    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Handler", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/stockx", received
    server.shutdown()
    server.server_close()


def _wait_for(received: list[Any], count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def _make_changes(sim: Client, headers: dict[str, str]) -> None:
    variant = sim.get("/_sim/state/products").json()["products"][0]["variants"][2]["variantId"]
    op = sim.post(
        "/v2/selling/listings", headers=headers, json={"amount": "130", "variantId": variant}
    ).json()
    sim.post("/_sim/advance", json={"seconds": 1})
    assert sim.post("/_sim/orders", json={"listing_id": op["listingId"]}).status_code == 201
    sim.put("/_sim/market", json={"variant_id": variant, "lowest_ask": 140, "highest_bid": 120})


def test_relay_events_verify_with_standard_webhooks(
    sim: Client, headers: dict[str, str], receiver: Any
) -> None:
    url, received = receiver
    sim.put("/_sim/relay", json={"url": url, "secret": SECRET})
    _make_changes(sim, headers)
    _wait_for(received, 4)
    types = set()
    for request_headers, body in received:
        Webhook(SECRET).verify(body, request_headers)  # raises on a bad signature
        event = json.loads(body)
        assert event["source"] == "stockx-sim"
        assert event["specversion"] == "1.0"
        assert request_headers["webhook-id"] == event["id"]
        types.add(event["type"])
    assert types == {"stockx.listing.updated", "stockx.order.updated", "stockx.market.updated"}
    order = next(
        json.loads(b)["data"]
        for _, b in received
        if json.loads(b)["type"] == "stockx.order.updated"
    )
    assert order["status"] == "CREATED"


def test_relay_loss_drops_and_duplicate_repeats(
    sim: Client, headers: dict[str, str], receiver: Any
) -> None:
    url, received = receiver
    sim.put("/_sim/relay", json={"url": url, "secret": SECRET, "loss": 1.0})
    _make_changes(sim, headers)
    time.sleep(0.6)
    assert received == []
    assert sim.get("/_sim/relay").json()["stats"]["dropped"] >= 4
    sim.put("/_sim/relay", json={"url": url, "secret": SECRET, "duplicate": 1.0})
    _make_changes(sim, headers)
    _wait_for(received, 8)
    time.sleep(0.5)  # let the second copy of the last event land
    ids = [h["webhook-id"] for h, _ in received]
    assert len(ids) >= 8
    assert all(ids.count(i) == 2 for i in ids)


def test_relay_reorder_holds_events_back_but_delivers_them(
    sim: Client, headers: dict[str, str], receiver: Any
) -> None:
    url, received = receiver
    sim.put("/_sim/relay", json={"url": url, "secret": SECRET, "reorder": 1.0})
    _make_changes(sim, headers)
    _wait_for(received, 4)
    stats = sim.get("/_sim/relay").json()["stats"]
    assert stats["reordered"] >= 4
    assert len(received) >= 4  # held back, yet delivered


def test_hourly_market_moves_are_relayed_for_live_asks(sim: Client, receiver: Any) -> None:
    url, received = receiver
    sim.put("/_sim/relay", json={"url": url, "secret": SECRET})
    sim.post("/_sim/advance", json={"seconds": 3600})
    deadline = time.monotonic() + 5
    market: list[dict[str, Any]] = []
    while not market and time.monotonic() < deadline:
        time.sleep(0.05)
        events = [json.loads(body) for _, body in list(received)]
        market = [e for e in events if e["type"] == "stockx.market.updated"]
    live = {
        x["variant"]["variantId"]
        for x in sim.get("/_sim/state/listings").json()["listings"]
        if x["status"] == "ACTIVE"
    }
    assert market
    assert {e["data"]["variantId"] for e in market} <= live
