"""The webhook sender: what it signs is what ingest verifies; usage errors are exit code 2."""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path

import pytest

from soleflip.common.contracts import decode_event
from soleflip.ingest.domain import Verifier
from soleflip.ingest.sender import build_request, main

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def test_a_built_request_verifies_and_carries_the_event() -> None:
    body, headers = build_request(
        "catalog.enrichment.requested",
        {"skus": ["A"]},
        source="n8n",
        secret=SECRET,
        token="t",
        event_id="e-1",
    )
    Verifier([SECRET]).verify(
        headers["webhook-id"],
        headers["webhook-timestamp"],
        headers["webhook-signature"],
        body,
        time.time(),
    )
    event = decode_event(body)
    assert (event.id, event.type, event.data) == (
        "e-1",
        "catalog.enrichment.requested",
        {"skus": ["A"]},
    )
    assert headers["authorization"] == "Bearer t"
    assert headers["webhook-id"] == "e-1"


def test_without_any_secret_the_sender_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOLEFLIP_WEBHOOK_SECRETS_STOCKX", raising=False)
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"skus": ["A"]}))
    assert main(["catalog.enrichment.requested", str(data)]) == 2


def test_an_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["x.y", str(tmp_path / "missing.json"), "--secret", SECRET]) == 2


def test_a_whole_event_is_sent_as_it_is_with_its_own_id() -> None:
    event = {"specversion": "1.0", "id": "own-1", "type": "x.y", "source": "me", "data": {"a": 1}}
    body, headers = build_request("ignored.type", event, source="stockx", secret=SECRET, token=None)
    assert json.loads(body) == event
    assert headers["webhook-id"] == "own-1"
    assert "authorization" not in headers
