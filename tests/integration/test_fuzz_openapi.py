"""Schemathesis against every service's own OpenAPI document, on the served system (real Postgres,
NATS and simulator): whatever a client sends, no service answers 5xx (issue 10, "a property/fuzz
suite in CI").

Each operation gets `SOLEFLIP_FUZZ_EXAMPLES` generated requests (default 10: the whole file stays
within a few minutes on two cores; raise it for a deeper run), authenticated with an admin token,
positive and negative (schema-violating) cases both. The checks are `not_a_server_error` and
status-code and content-type conformance (every answer is one the document lists) and that a
declared bearer token is really required (see `CHECKS`).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar._openapi.plugin import OpenAPIPlugin
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    status_code_conformance,
)

from soleflip.common.contracts import ingest
from soleflip.common.settings import Settings
from soleflip.common.stockx import Order
from soleflip.ingest.domain import sign
from soleflip.ingest.openapi import add_webhook_operation
from tests.support.stack import SERVICES, Stack, served_stack

EXAMPLES = int(os.environ.get("SOLEFLIP_FUZZ_EXAMPLES", "10"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # CI fuzzes the same inputs on every run; raise EXAMPLES to explore
    suppress_health_check=list(HealthCheck),
)
#: Conformance holds because the shared app factory documents the problem+json answers every
#: `/api` route may give (`soleflip.common.http._app.API_PROBLEMS`) and the bearer token every
#: `/api` route requires; `ignored_auth` sends each accepted request again without the token
#: and with a wrong one, and wants them refused (what the declared `bearerAuth` promises).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, ignored_auth]

pytestmark = pytest.mark.timeout(600)


def _document(service: str) -> dict[str, Any]:
    """The OpenAPI document `soleflip serve <service>` serves (built without connecting)."""
    create_app = importlib.import_module(f"soleflip.{service}.app").create_app
    app = create_app(Settings(log_level="warning"))
    if service == "ingest":
        add_webhook_operation(app)  # ingest writes its raw webhook route in at startup
    document: dict[str, Any] = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    return document


# Loaded at collection (one test per operation); requests go to the served stack's base URL.
DOCUMENTS = {service: _document(service) for service in SERVICES}
SCHEMAS = {service: schemathesis.openapi.from_dict(doc) for service, doc in DOCUMENTS.items()}


@pytest.fixture(scope="module")
def stack(database_url: str, nats_url: str) -> Iterator[Stack]:
    with served_stack(database_url, nats_url) as served:
        yield served


@pytest.mark.parametrize("service", SERVICES)
def test_the_fuzzed_documents_are_the_served_ones(stack: Stack, service: str) -> None:
    served = httpx.get(f"{stack.urls[service]}/schema/openapi.json", timeout=30).json()
    assert _operations(served) == _operations(DOCUMENTS[service])


def _operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item}


def _call(stack: Stack, service: str, case: Any) -> None:
    case.call_and_validate(
        base_url=stack.urls[service],
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        checks=CHECKS,
        timeout=30,
    )


@SCHEMAS["ingest"].parametrize()
@FUZZ
def test_ingest_never_answers_5xx(case: Any, stack: Stack) -> None:
    _call(stack, "ingest", case)


@SCHEMAS["catalog"].parametrize()
@FUZZ
def test_catalog_never_answers_5xx(case: Any, stack: Stack) -> None:
    _call(stack, "catalog", case)


@SCHEMAS["orders"].parametrize()
@FUZZ
def test_orders_never_answers_5xx(case: Any, stack: Stack) -> None:
    _call(stack, "orders", case)


@SCHEMAS["pricing"].parametrize()
@FUZZ
def test_pricing_never_answers_5xx(case: Any, stack: Stack) -> None:
    _call(stack, "pricing", case)


#: Values random generation rarely hits but clients send: NUL, huge numbers, invalid escapes.
EDGE_VALUES = ("a\x00b", "9" * 400, "-9223372036854775809", "1e999999", "NaN", "%ff", "")


def _parameter_cases() -> list[tuple[str, str, str, str, str]]:
    """(service, method, path template, parameter, location) of every documented parameter."""
    found = []
    for service, document in DOCUMENTS.items():
        for path, item in document["paths"].items():
            for method, operation in item.items():
                found.extend(
                    (service, method, path, p["name"], p["in"])
                    for p in operation.get("parameters", [])
                    if p["in"] in ("path", "query")
                )
    return found


PARAMETERS = _parameter_cases()


@pytest.mark.parametrize(
    ("service", "method", "path", "name", "where"),
    PARAMETERS,
    ids=[f"{s} {m.upper()} {p} {n}" for s, m, p, n, _ in PARAMETERS],
)
def test_edge_values_in_every_documented_parameter_are_never_5xx(
    stack: Stack, service: str, method: str, path: str, name: str, where: str
) -> None:
    headers = {"Authorization": f"Bearer {stack.admin_token}", "content-type": "application/json"}
    with httpx.Client(base_url=stack.urls[service], headers=headers, timeout=30) as http:
        for value in EDGE_VALUES:
            if where == "path" and not value:
                continue  # an empty path segment is another route
            url = re.sub(r"\{[^}]+\}", "x", path.replace("{" + name + "}", quote(value, safe="%")))
            params = {name: value} if where == "query" else {}
            answer = http.request(method.upper(), url, params=params, content=b"{}")
            assert answer.status_code < 500, f"{value!r}: {answer.status_code} {answer.text}"


KNOWN_TYPES = sorted(ingest.DATA_TYPES)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.sampled_from([2**31, 2**63, -(2**63) - 1, 10**400])
    | st.floats(allow_nan=False)
    | st.text(max_size=12)  # NUL and lone surrogates included
    | st.sampled_from(["NaN", "1e999999", "-Infinity", "a\x00b", "\ud800", "150", "12.345"])
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)


@st.composite
def _data(draw: st.DrawFn, type_: str) -> Any:
    if type_ == "inventory.item.purchased" and draw(st.booleans()):
        base = {
            "sku": "DD1391-100",
            "size": "10",
            "size_type": "us m",
            "quantity": 1,
            "unit_cost": {"amount": "89.90", "currency": "EUR"},
            "purchased_at": "2026-11-20T10:00:00Z",
            "supplier": "s",
            "external_id": "e",
        }
        key = draw(st.sampled_from(sorted(base)))
        return {**base, key: draw(_json)}
    if type_ == "stockx.order.updated" and draw(st.booleans()):
        return {
            "orderNumber": draw(st.text(min_size=1, max_size=8)),
            "status": "CREATED",
            "amount": draw(_scalars),
            "payout": {"totalPayout": draw(_scalars)},
        }
    return draw(_json)


@st.composite
def _event(draw: st.DrawFn) -> dict[str, Any]:
    type_ = draw(st.sampled_from([*KNOWN_TYPES, "n8n.custom", "a b"]))
    return {"id": draw(st.text(min_size=1, max_size=8)), "type": type_, "data": draw(_data(type_))}


_DEEP = "__deep__"


@st.composite
def _body(draw: st.DrawFn) -> bytes:
    events = draw(st.lists(_event(), min_size=1, max_size=3))
    depth = draw(st.sampled_from([0, 0, 0, 5, 3000]))
    if depth:  # nesting deeper than any decoder's recursion limit, inside an event's data
        events[0]["data"] = _DEEP
    value: Any = events if draw(st.booleans()) else events[0]
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    text = text.replace(json.dumps(_DEEP), "[" * depth + "1" + "]" * depth)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="surrogatepass" if encoding != "latin-1" else "replace")


@given(body=_body())
@settings(max_examples=EXAMPLES * 4, deadline=None, suppress_health_check=list(HealthCheck))
def test_signed_webhooks_of_any_shape_are_never_5xx_and_accepted_ones_decode(
    stack: Stack, body: bytes
) -> None:
    msg_id, ts = f"fz{secrets.token_hex(6)}", int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(stack.n8n_secret, msg_id, ts, body),
    }
    answer = httpx.post(f"{stack.urls['ingest']}/webhooks/n8n", content=body, headers=headers)
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/problem+json"
        return
    decoded = msgspec.json.decode(body)  # what was accepted is what consumers will decode
    for event in decoded if isinstance(decoded, list) else [decoded]:
        if event["type"] in ingest.DATA_TYPES:
            # ingest fills in an absent `source` and `specversion` before it publishes
            stored = {"source": "/webhooks/n8n", "specversion": "1.0", **event}
            ingest.ingest_event_decoder.decode(msgspec.json.encode(stored))
        if event["type"] == "stockx.order.updated":
            msgspec.convert(event["data"], Order)
