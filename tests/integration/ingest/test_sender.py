"""`soleflip webhook send` against a served ingest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from soleflip.common.bus import Names
from soleflip.ingest.sender import main
from tests.integration.ingest.conftest import N8N_TOKEN, Secrets


def test_send_signs_and_ingest_accepts_it(
    served: str, webhook_secrets: Secrets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "order.json"
    data.write_text(json.dumps({"orderNumber": "1-2", "status": "SHIPPED"}))
    argv = [
        "stockx.order.updated",
        str(data),
        "--url",
        served,
        "--secret",
        webhook_secrets.stockx_old,
        "--id",
        "cli-1",
    ]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith('202 {"id":"cli-1","duplicate":false}')
    assert main(argv) == 0
    assert '"duplicate":true' in capsys.readouterr().out


def test_send_with_the_n8n_token_and_a_secret_from_the_environment(
    served: str, webhook_secrets: Secrets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "skus.json"
    data.write_text(json.dumps({"skus": ["DD1391-100"]}))
    assert (
        main(
            [
                "catalog.enrichment.requested",
                str(data),
                "--url",
                served,
                "--source",
                "n8n",
                "--token",
                N8N_TOKEN,
            ]
        )
        == 0
    )
    monkeypatch.setenv("SOLEFLIP_WEBHOOK_SECRETS_N8N", webhook_secrets.n8n)
    assert (
        main(["catalog.enrichment.requested", str(data), "--url", served, "--source", "n8n"]) == 0
    )


def test_a_refused_send_exits_1(served: str, tmp_path: Path, webhook_secrets: Secrets) -> None:
    data = tmp_path / "bad.json"
    data.write_text(json.dumps({"status": "SHIPPED"}))
    argv = [
        "stockx.order.updated",
        str(data),
        "--url",
        served,
        "--secret",
        webhook_secrets.stockx_new,
    ]
    assert main(argv) == 1


async def test_sent_events_land_on_the_stream(
    served: str, js: JetStreamContext, names: Names, webhook_secrets: Secrets, tmp_path: Path
) -> None:
    data = tmp_path / "p.json"
    data.write_text(json.dumps({"productId": "p-9"}))
    assert (
        main(
            [
                "stockx.product.updated",
                str(data),
                "--url",
                served,
                "--secret",
                webhook_secrets.stockx_new,
            ]
        )
        == 0
    )
    stored = await js.get_last_msg(
        names.stream("INGEST"), names.subject("ingest.stockx.product.updated")
    )
    assert json.loads(stored.data or b"")["data"] == {"productId": "p-9"}


@pytest.mark.parametrize("setting", ["SOLEFLIP_HTTP_PORT", "SOLEFLIP_INGEST_URL"])
def test_send_without_url_finds_ingest_from_the_port_or_url_setting(
    served: str,
    webhook_secrets: Secrets,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setting: str,
) -> None:
    data = tmp_path / "skus.json"
    data.write_text(json.dumps({"skus": ["DD1391-100"]}))
    port = served.rpartition(":")[2]
    monkeypatch.setenv(setting, port if setting.endswith("PORT") else served)
    argv = ["catalog.enrichment.requested", str(data), "--source", "n8n", "--token", N8N_TOKEN]
    assert main(argv) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith("202 ")
