"""The OpenAPI operation of `POST /webhooks/{source}`, added by hand.

The endpoint is a raw ASGI route (see `http.py`), which Litestar does not describe; this module
writes the operation (path, headers, request body, every answer) into the generated document.
Schemas come from the msgspec contracts, so the document cannot drift from what is validated.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin

from soleflip.common.contracts import CloudEvent
from soleflip.common.contracts.ingest import IngestEvent

PATH = "/webhooks/{source}"
_REF = "#/components/schemas/{name}"


class Accepted(msgspec.Struct):
    """The answer to a single event."""

    id: str
    duplicate: bool


class AcceptedList(msgspec.Struct):
    """The answer to a list of events: ids and duplicate flags in request order."""

    ids: list[str]
    duplicates: list[bool]


class Problem(msgspec.Struct):
    """RFC 9457 problem details; `detail` names the fault (the field, for 422)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, str]] | None = None


def _components() -> tuple[dict[str, Any], dict[str, Any]]:
    types = (CloudEvent, IngestEvent, Accepted, AcceptedList, Problem)
    refs, components = msgspec.json.schema_components(types, ref_template=_REF)
    return dict(
        zip(("event", "known", "accepted", "list", "problem"), refs, strict=True)
    ), components


def _header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "schema": {"type": "string"}, "description": description}


def _problem(description: str, refs: dict[str, Any], retry: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/problem+json": {"schema": refs["problem"]}},
    }
    if retry:
        answer["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return answer


def _json(description: str, refs: dict[str, Any]) -> dict[str, Any]:
    schema = {"oneOf": [refs["accepted"], refs["list"]]}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _responses(refs: dict[str, Any]) -> dict[str, Any]:
    return {
        "202": _json("Accepted: JetStream acknowledged every event", refs),
        "200": _json("A repeat: every event was already stored (duplicate window)", refs),
        "400": _problem("Unparsable body, not a CloudEvent, or no event id", refs),
        "401": _problem("Bad or missing signature or token; stale or future timestamp", refs),
        "404": _problem("Unknown source", refs),
        "413": _problem("Body over the cap, or more than 1000 events", refs),
        "415": _problem("Not a JSON content type", refs),
        "422": _problem("A known event type whose data fails its schema", refs),
        "429": _problem("Per-source rate limit", refs, retry=True),
        "503": _problem("NATS JetStream unavailable; retry", refs, retry=True),
    }


def webhook_operation(refs: dict[str, Any]) -> dict[str, Any]:
    """The `post` operation object of `/webhooks/{source}`."""
    # A known type must match its schema (422 otherwise); any other type is kept as it is.
    event = {"anyOf": [refs["known"], refs["event"]]}
    body_schema = {"oneOf": [event, {"type": "array", "items": event}]}
    source = {"type": "string", "enum": ["stockx", "n8n"]}
    return {
        "tags": ["webhooks"],
        "summary": "Receive a webhook: one CloudEvent or a list of them",
        "description": (
            "Standard Webhooks signature (several secrets accepted for rotation, 5 min tolerance);"
            " n8n may instead send `Authorization: Bearer <token>`. Known types are validated "
            "against their data schema (`IngestEvent`) and published to `ingest.<type>`; "
            "unknown types go to `ingest.unrecognized.<source>`."
        ),
        "operationId": "receiveWebhook",
        "parameters": [
            {"name": "source", "in": "path", "required": True, "schema": source},
            _header("webhook-id", "Event id of a single event; list items get `<id>:<index>`"),
            _header("webhook-timestamp", "Unix seconds of this attempt"),
            _header("webhook-signature", "Space-separated `v1,<base64 HMAC-SHA256>` entries"),
            _header("Authorization", "`Bearer <token>` (n8n only)"),
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": body_schema},
                "application/cloudevents+json": {"schema": event},
                "application/cloudevents-batch+json": {"schema": body_schema},
            },
        },
        "responses": _responses(refs),
    }


def add_webhook_operation(app: Litestar) -> None:
    """An `on_startup` hook: write the operation and its schemas into the served document."""
    document = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    refs, components = _components()
    document.setdefault("components", {}).setdefault("schemas", {}).update(components)
    document.setdefault("paths", {})[PATH] = {"post": webhook_operation(refs)}
    tags = document.setdefault("tags", [])
    if not any(tag.get("name") == "webhooks" for tag in tags):
        tags.append({"name": "webhooks", "description": "Signed webhooks from relays and n8n"})
