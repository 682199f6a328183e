"""The importable n8n workflows of docs/n8n, run node by node as n8n runs them (their Code nodes'
JavaScript, the Crypto node's HMAC, the HTTP Request node's expressions) and sent to a served
ingest: both recipes are accepted, and a second run of either is a repeat of the same event."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.ingest.conftest import N8N_TOKEN, Secrets, new_secret

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = ROOT / "docs" / "n8n"
HARNESS = ROOT / "tests" / "support" / "n8n_nodes.js"
TEXT_KEY = "my-long-random-text-key"  # the Crypto node's secret in the shipped workflow


@pytest.fixture
def webhook_secrets() -> Secrets:
    # The README's recipe: the n8n secret is the base64 of the text key the Crypto node holds.
    return Secrets(
        new_secret(), new_secret(), "whsec_" + base64.b64encode(TEXT_KEY.encode()).decode()
    )


def n8n_requests(workflow: Path) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node (JavaScript) is not installed: n8n's Code nodes cannot run")
    done = subprocess.run(
        [node, str(HARNESS), str(workflow), N8N_TOKEN],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    requests: list[dict[str, Any]] = json.loads(done.stdout)
    return requests


def send(served: str, request: dict[str, Any]) -> httpx.Response:
    path = urlsplit(request["url"]).path
    body = request["body"].encode()
    return httpx.post(f"{served}{path}", content=body, headers=request["headers"], timeout=10)


def test_every_shipped_workflow_is_importable_json_ending_in_a_request() -> None:
    files = sorted(WORKFLOWS.glob("*.json"))
    assert [f.name for f in files] == ["purchase-header-auth.json", "purchase-signed.json"]
    for path in files:
        workflow = json.loads(path.read_text())
        assert {"name", "nodes", "connections"} <= workflow.keys()
        names = {n["name"] for n in workflow["nodes"]}
        linked = {link["node"] for c in workflow["connections"].values() for link in c["main"][0]}
        assert linked <= names
        assert workflow["nodes"][-1]["type"] == "n8n-nodes-base.httpRequest"


@pytest.mark.parametrize("recipe", ["purchase-header-auth.json", "purchase-signed.json"])
def test_a_workflow_run_is_accepted_and_a_second_run_is_a_repeat(served: str, recipe: str) -> None:
    (first,) = n8n_requests(WORKFLOWS / recipe)
    answer = send(served, first)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"id": "purchase-snkrs-123", "duplicate": False}
    if recipe.endswith("signed.json"):
        assert first["headers"]["webhook-signature"].startswith("v1,")
        assert "authorization" not in {k.lower() for k in first["headers"]}
    (again,) = n8n_requests(WORKFLOWS / recipe)  # a new execution: new timestamp, same event
    repeat = send(served, again)
    assert (repeat.status_code, repeat.json()["duplicate"]) == (200, True)


def test_a_signature_from_another_text_key_is_refused(served: str, tmp_path: Path) -> None:
    workflow = json.loads((WORKFLOWS / "purchase-signed.json").read_text())
    for node in workflow["nodes"]:
        if node["type"] == "n8n-nodes-base.crypto":
            node["parameters"]["secret"] = "another-text-key"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(workflow))
    (request,) = n8n_requests(changed)
    assert send(served, request).status_code == 401
