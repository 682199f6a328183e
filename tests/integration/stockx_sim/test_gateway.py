"""Gateway behaviour: 1 req/s and daily quota per key (429), injected faults, the request log."""

from __future__ import annotations

import time
from typing import Any

from litestar.testing import TestClient

from soleflip.stockx_sim import SimConfig

Client = TestClient[Any]
SEARCH = "/v2/catalog/search?query=dunk"


def _limited(config: SimConfig, rate: float, daily: int) -> SimConfig:
    config.rate_per_s, config.daily_limit = rate, daily
    return config


def test_more_than_one_request_per_second_gets_429(
    make_sim: Any, sim_config: SimConfig, refresh: Any
) -> None:
    with make_sim(_limited(sim_config, 1.0, 1000)) as client:
        token = refresh(client).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "x-api-key": "sim-api-key"}
        assert client.get(SEARCH, headers=headers).status_code == 200
        throttled = client.get(SEARCH, headers=headers)
        assert throttled.status_code == 429
        assert throttled.json() == {"statusCode": 429, "message": throttled.json()["message"]}
        time.sleep(1.05)
        assert client.get(SEARCH, headers=headers).status_code == 200


def test_daily_limit_gets_429_until_the_next_utc_day(
    make_sim: Any, sim_config: SimConfig, refresh: Any
) -> None:
    with make_sim(_limited(sim_config, 0, 3)) as client:
        token = refresh(client).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "x-api-key": "sim-api-key"}
        statuses = [client.get(SEARCH, headers=headers).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        client.post("/_sim/advance", json={"seconds": 86_400})
        token = refresh(client).json()["access_token"]
        headers["Authorization"] = f"Bearer {token}"
        assert client.get(SEARCH, headers=headers).status_code == 200


def test_control_plane_is_never_rate_limited(make_sim: Any, sim_config: SimConfig) -> None:
    with make_sim(_limited(sim_config, 1.0, 1)) as client:
        assert all(client.get("/_sim/requests").status_code == 200 for _ in range(5))


def test_faults_storm_errors_and_request_log(sim: Client, headers: dict[str, str]) -> None:
    sim.put("/_sim/faults", json={"storm_s": 30})
    limited = sim.get(SEARCH, headers=headers)
    assert limited.status_code == 429
    assert set(limited.json()) == {"statusCode", "message"}
    assert "retry-after" not in limited.headers  # StockX documents no such header
    sim.put("/_sim/faults", json={"retry_after_s": 3})
    assert sim.get(SEARCH, headers=headers).headers["retry-after"] == "3"
    sim.put("/_sim/faults", json={"retry_after_s": None})
    sim.put("/_sim/faults", json={"storm_s": 0, "error_rate": 1.0})
    failed = sim.get(SEARCH, headers=headers)
    assert failed.status_code in (500, 502, 503)
    assert set(failed.json()) == {"statusCode", "message"}
    sim.put("/_sim/faults", json={"error_rate": 0.0, "latency_ms": 150})
    started = time.monotonic()
    assert sim.get(SEARCH, headers=headers).status_code == 200
    assert time.monotonic() - started >= 0.15
    log = sim.get("/_sim/requests").json()["requests"]
    assert [e["status"] for e in log[-3:]] == [429, failed.status_code, 200]
    assert {"time", "key", "method", "path", "status"} <= set(log[-1])
    assert log[-1]["key"] == "sim-api-key"
    assert log[-1]["path"] == "/v2/catalog/search"


def test_stale_product_ids_404_and_search_returns_the_new_id(
    sim: Client, headers: dict[str, str]
) -> None:
    found = sim.get("/v2/catalog/search?query=DD1391-100", headers=headers).json()["products"]
    old = found[0]["productId"]
    remapped = sim.put("/_sim/faults", json={"stale_product_ids": [old]}).json()["remapped"]
    gone = sim.get(f"/v2/catalog/products/{old}", headers=headers)
    assert gone.status_code == 404
    assert gone.json() == {"statusCode": 404, "message": "Resource not found"}
    again = sim.get("/v2/catalog/search?query=DD1391-100", headers=headers).json()["products"]
    assert again[0]["productId"] == remapped[old]
    assert sim.get(f"/v2/catalog/products/{remapped[old]}", headers=headers).status_code == 200


def test_a_style_id_where_a_product_id_belongs_is_404(sim: Client, headers: dict[str, str]) -> None:
    assert sim.get("/v2/catalog/products/DD1391-100", headers=headers).status_code == 404
    market = sim.get("/v2/catalog/products/DD1391-100/market-data", headers=headers)
    assert market.json() == {"statusCode": 404, "message": "Could not decode market data"}


def test_health_endpoints_answer_without_credentials_or_rate_limit(sim: TestClient[Any]) -> None:
    for _ in range(3):  # above 1 req/s: probes must never be rate limited
        assert sim.get("/health/ready").json() == {"status": "ready"}
    assert sim.get("/health/live").status_code == 200
