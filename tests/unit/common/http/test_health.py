"""Liveness, readiness with named checks, metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable

from litestar import Litestar
from litestar.testing import TestClient

from soleflip.common.http import Degraded, check_name


async def check_database() -> None:
    return None


async def check_nats() -> None:
    raise ConnectionRefusedError("nats://10.0.0.1:4222 refused")


async def hang() -> None:
    await asyncio.sleep(30)


def test_live_is_always_200(client: TestClient[Litestar]) -> None:
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "live"}


def test_ready_without_checks_is_200(client: TestClient[Litestar]) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {}}


def test_ready_reports_every_passing_check(make_app: Callable[..., Litestar]) -> None:
    with TestClient(make_app(readiness=[check_database])) as client:
        response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


def test_ready_is_503_problem_naming_the_failing_check(make_app: Callable[..., Litestar]) -> None:
    with TestClient(make_app(readiness=[check_database, check_nats])) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert "nats" in body["detail"]
    assert body["checks"] == {"database": "ok", "nats": "failed: ConnectionRefusedError"}
    # The failure's own text (addresses, credentials) stays in the logs, not in the answer.
    assert "10.0.0.1" not in response.text
    assert response.headers["retry-after"]


def test_a_failing_check_is_logged_with_its_reason(
    make_app: Callable[..., Litestar], log_lines: Callable[[], list[dict[str, object]]]
) -> None:
    with TestClient(make_app(readiness=[check_nats])) as client:
        log_lines()
        client.get("/health/ready")
    (failure,) = [line for line in log_lines() if line["event"] == "readiness check failed"]
    assert failure["check"] == "nats"
    assert "10.0.0.1:4222 refused" in str(failure["error"])


def test_a_hanging_check_times_out(make_app: Callable[..., Litestar]) -> None:
    app = make_app(readiness={"stockx": hang}, readiness_timeout_s=0.05)
    with TestClient(app) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"stockx": "timed out after 0.05s"}


async def degraded_stockx() -> None:
    raise Degraded("StockX credentials fail")


def test_a_degraded_check_is_shown_without_taking_the_service_out_of_rotation(
    make_app: Callable[..., Litestar],
) -> None:
    app = make_app(readiness={"stockx_auth": degraded_stockx})
    with TestClient(app) as client:
        response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"stockx_auth": "degraded: StockX credentials fail"}


def test_readiness_provider_is_called_per_probe(make_app: Callable[..., Litestar]) -> None:
    current: list[Callable[[], object]] = []
    app = make_app(readiness=lambda: list(current))
    with TestClient(app) as client:
        assert client.get("/health/ready").status_code == 200
        current.append(check_nats)
        assert client.get("/health/ready").status_code == 503


def test_check_names_come_from_functions_partials_or_attributes() -> None:
    async def probe(_: int) -> None:
        return None

    named = functools.partial(probe, 1)
    assert check_name(check_database) == "database"
    assert check_name(named) == "probe"
    named.check_name = "custom"  # type: ignore[attr-defined]
    assert check_name(named) == "custom"


def test_metrics_expose_request_histogram_by_route_template(
    client: TestClient[Litestar], tokens: object
) -> None:
    client.get("/health/live")
    client.get("/no/such/path/12345")
    text = client.get("/metrics").text
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")
    assert 'soleflip_http_request_duration_seconds_count{method="GET",route="/health/live",' in text
    assert 'route="<unmatched>",service="test-svc",status="404"' in text
    # Raw paths never become label values: they would explode the series count.
    assert "/no/such/path" not in text


def test_openapi_document_is_served(client: TestClient[Litestar]) -> None:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "SoleFlip test-svc"
    assert "/api/v1/items" in document["paths"]
    assert "/health/ready" in document["paths"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_openapi_ui_is_browsable(client: TestClient[Litestar]) -> None:
    response = client.get("/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_the_docs_uis_load_their_assets_from_the_service_itself(
    client: TestClient[Litestar],
) -> None:
    for path in ("/schema", "/schema/swagger"):
        page = client.get(path).text
        loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert len(loaded) == 3, path
        for url in loaded:
            assert url.startswith("/schema/assets/"), f"{path} loads {url} from elsewhere"
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["content-type"].startswith(("text/javascript", "text/css"))
    assert "Apache License" in client.get("/schema/assets/LICENSE").text
    assert client.get("/schema/assets/..%2Fpyproject.toml").status_code == 404


def test_every_api_operation_declares_the_bearer_token(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            wanted = [{"bearerAuth": []}] if path.startswith("/api") else None
            assert operation.get("security") == wanted, f"{method} {path}"


def test_openapi_documents_problem_answers(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    not_ready = document["paths"]["/health/ready"]["get"]["responses"]["503"]
    assert "application/problem+json" in not_ready["content"]
