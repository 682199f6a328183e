"""Fixtures for the StockX simulator: an in-process app, tokens, and StockX's OpenAPI contract."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from litestar.testing import TestClient

from soleflip.common.settings import Settings
from soleflip.stockx_sim import SimConfig, create_app

OPENAPI = Path(__file__).parent / "data" / "stockx-public-openapi.json"


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema 2020-12: `nullable`, local `$ref`s, no examples."""
    if isinstance(node, list):
        return [_to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _to_json_schema(v)
        for k, v in node.items()
        if k not in ("example", "examples", "nullable", "deprecated")
    }
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


class Contract:
    """StockX's document: operations by id, and validation of simulator responses against it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.defs = _to_json_schema(document["components"]["schemas"])
        self.operations: dict[str, dict[str, Any]] = {}
        for path, item in document["paths"].items():
            for method, op in item.items():
                self.operations[op["operationId"]] = {"path": path, "method": method, **op}
        self.checked: set[tuple[str, int]] = set()
        # Literal segments win over parameters (`/orders/active` before `/orders/{orderNumber}`).
        routes = sorted(self.operations.items(), key=lambda kv: kv[1]["path"].count("{"))
        self._routes = [
            (
                re.compile("^/v2" + re.sub(r"\{[^}]+\}", "[^/]+", op["path"]) + "$"),
                op["method"],
                op_id,
            )
            for op_id, op in routes
        ]

    def check(self, operation_id: str, response: httpx.Response) -> Any:
        """Assert the status is documented and the body matches its schema; returns the body."""
        op = self.operations[operation_id]
        status = str(response.status_code)
        assert status in op["responses"], f"{operation_id}: {status} undocumented: {response.text}"
        content = op["responses"][status]["content"]
        media = response.headers["content-type"].split(";")[0]
        assert media in content, f"{operation_id}: {media} not in {list(content)}"
        self.checked.add((operation_id, response.status_code))
        if media == "application/pdf":
            assert response.content.startswith(b"%PDF-")
            return response.content
        schema = {"$defs": self.defs, **_to_json_schema(content[media]["schema"])}
        body = response.json()
        errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
        assert not errors, f"{operation_id} {status}: {errors[0].message} at {list(errors[0].path)}"
        return body

    def _errors(self, schema: Any, body: Any) -> list[Any]:
        full = {"$defs": self.defs, **schema}
        return sorted(Draft202012Validator(full).iter_errors(body), key=str)

    def check_any(self, method: str, path: str, response: httpx.Response) -> None:
        """Validate any `/v2` response: documented statuses against their schema, everything
        else (403, 429, 5xx, undocumented 404) against StockX's `PublicApiError`."""
        op_id = next(
            (i for rx, m, i in self._routes if m == method.lower() and rx.match(path)), None
        )
        documented = (
            op_id is not None and str(response.status_code) in (self.operations[op_id]["responses"])
        )
        if op_id is not None and documented:
            self.check(op_id, response)
            return
        assert response.status_code >= 400, f"{method} {path}: undocumented {response.status_code}"
        error = {"$ref": "#/$defs/PublicApiError"}
        errors = self._errors(error, response.json())
        assert not errors, f"{method} {path} {response.status_code}: {errors[0].message}"
        assert response.json()["statusCode"] == response.status_code


class ValidatingClient(TestClient[Any]):
    """A test client that validates every `/v2` response against StockX's document."""

    contract: Contract

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> httpx.Response:
        response = super().request(method, url, *args, **kwargs)
        path = httpx.URL(str(url)).path
        if path.startswith("/v2"):
            self.contract.check_any(method, path, response)
        return response


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract(json.loads(OPENAPI.read_text()))


@pytest.fixture
def sim_config() -> SimConfig:
    """Fast, unlimited settings; tests that need limits set them explicitly."""
    return SimConfig(
        seed=7,
        products=20,
        listings=15,
        orders=10,
        rate_per_s=0,
        daily_limit=10**9,
        settle_delay_s=0.0,
        token_ttl_s=10**8,  # tests advance the clock by days; expiry has its own tests
    )


@pytest.fixture
def make_sim(contract: Contract) -> Any:
    """`make_sim(config)`: a validating client around a fresh simulator (use in `with`)."""

    def make(config: SimConfig) -> ValidatingClient:
        client = ValidatingClient(create_app(Settings(), config))
        client.contract = contract
        return client

    return make


@pytest.fixture
def sim(sim_config: SimConfig, make_sim: Any) -> Iterator[TestClient[Any]]:
    with make_sim(sim_config) as client:
        yield client


def _refresh(
    client: TestClient[Any],
    token: str = "sim-refresh",  # noqa: S107 - the documented sim refresh token
    **extra: str,
) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": "sim-client",
        "client_secret": "sim-secret",
        "audience": "gateway.stockx.com",
        **extra,
    }
    return client.post("/oauth/token", data=form)


@pytest.fixture
def refresh() -> Any:
    """`refresh(client, token="sim-refresh", **form)` posts a refresh_token grant."""
    return _refresh


@pytest.fixture
def headers(sim: TestClient[Any]) -> dict[str, str]:
    token = _refresh(sim).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "x-api-key": "sim-api-key"}
