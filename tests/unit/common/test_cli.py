"""The `soleflip` command line: parsing, dispatch and the errors a user sees."""

from __future__ import annotations

import io
import stat
import sys
from pathlib import Path

import pytest

from soleflip.common import cli
from soleflip.common.cli_env import dev_defaults, read_env_file, write_env_values
from soleflip.common.localinfra import devstack
from soleflip.common.progress import PlainProgress, progress


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_serve_unknown_service_lists_the_available_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "serve", "shipping")
    assert code == 2
    assert "unknown service 'shipping'" in out
    assert "available: " in out
    for service in cli.available_services():
        assert service in out


def test_serve_a_service_not_built_yet_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "available_services", lambda: ["ingest"])
    code, out = run(capsys, "serve", "orders")
    assert code == 2
    assert "service 'orders' is not built yet; available: ingest" in out


def test_service_names_map_to_packages() -> None:
    assert cli.package_of("stockx-sim") == "soleflip.stockx_sim"
    assert cli.package_of("orders") == "soleflip.orders"


def test_stockx_sim_command_serves_the_simulator() -> None:
    args = cli.build_parser().parse_args(["stockx-sim", "--port", "9999"])
    assert (args.func, args.service, args.port) == (cli.cmd_serve, "stockx-sim", 9999)


def test_serve_takes_host_and_port() -> None:
    args = cli.build_parser().parse_args(["serve", "ingest", "--host", "0.0.0.0", "--port", "1"])
    assert (args.service, args.host, args.port) == ("ingest", "0.0.0.0", 1)


def test_migrate_skips_services_without_a_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "migrate", "ingest")
    assert code == 0
    assert "migrate ingest: skipped (it has no schema)" in out


def test_migrate_all_targets_only_schema_services_with_migrations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "has_migrations", lambda s: s in ("pricing", "catalog", "ingest"))
    assert cli.migration_targets("all") == ["catalog", "pricing"]
    assert cli.migration_targets("pricing") == ["pricing"]


def test_migrate_of_a_service_without_migrations_yet_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "has_migrations", lambda s: False)
    code, out = run(capsys, "migrate", "orders")
    assert code == 2
    assert "service 'orders' is not built yet: it has no migrations" in out


def test_migrate_of_an_unknown_service_names_the_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = run(capsys, "migrate", "shipping")
    assert code == 2
    assert "unknown service 'shipping'; one of: all, ingest" in out


def test_sync_of_a_missing_service_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "module_exists", lambda name: False)
    code, out = run(capsys, "sync", "market")
    assert code == 2
    assert "sync market is not available yet: the pricing service is not built" in out


def test_sync_rejects_an_unknown_target(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["sync", "shoes"])
    assert exc.value.code == 2
    assert "invalid choice: 'shoes'" in capsys.readouterr().err


def test_sync_delegates_with_since(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    class FakeSync:
        @staticmethod
        def main(argv: list[str]) -> int:
            seen.append(argv)
            return 0

    monkeypatch.setattr(cli, "_lazy", lambda module, missing: FakeSync)
    assert cli.main(["sync", "listings", "--since", "2026-01-01"]) == 0
    assert seen == [["listings", "--since", "2026-01-01"]]


def test_webhook_send_delegates_to_the_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, list[str]]] = []

    class FakeSender:
        @staticmethod
        def main(argv: list[str]) -> int:
            seen.append(("sender", argv))
            return 3

    monkeypatch.setattr(cli, "_lazy", lambda module, missing: FakeSender)
    argv = ["webhook", "send", "stockx.order.updated", "o.json", "--source", "n8n", "--url", "u"]
    assert cli.main(argv) == 3
    assert seen == [("sender", ["stockx.order.updated", "o.json", "--source", "n8n", "--url", "u"])]


def test_options_the_cli_does_not_know_pass_through_to_the_delegate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[list[str]] = []

    class FakeSender:
        @staticmethod
        def main(argv: list[str]) -> int:
            seen.append(argv)
            return 0

    monkeypatch.setattr(cli, "_lazy", lambda module, missing: FakeSender)
    assert cli.main(["webhook", "send", "t", "f.json", "--token", "abc", "--id", "e1"]) == 0
    assert cli.main(["sync", "catalog", "--sku", "DD1391-100"]) == 0
    assert seen == [
        ["t", "f.json", "--source", "stockx", "--token", "abc", "--id", "e1"],
        ["catalog", "--sku", "DD1391-100"],
    ]


def test_unknown_options_of_other_commands_are_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["migrate", "all", "--bogus"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_webhook_send_rejects_an_unknown_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["webhook", "send", "t", "f.json", "--source", "shopify"])
    assert "invalid choice: 'shopify'" in capsys.readouterr().err


def test_invalid_settings_are_reported_without_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOLEFLIP_NATS_URL", "http://wrong")
    monkeypatch.setattr(cli, "_check_service", lambda service: None)
    code, out = run(capsys, "serve", "ingest")
    assert code == 2
    assert "SOLEFLIP_NATS_URL is invalid" in out


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main([])
    assert exc.value.code == 2


def test_dev_secrets_are_created_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "dev.env"
    first, token = devstack.load_or_create_secrets(path)
    again, no_token = devstack.load_or_create_secrets(path)
    assert first == again
    assert token is not None
    assert token.startswith("sf_")
    assert no_token is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first["SOLEFLIP_WEBHOOK_SECRETS_STOCKX"].startswith("whsec_")
    assert first["SOLEFLIP_WEBHOOK_SECRETS_N8N"] != first["SOLEFLIP_WEBHOOK_SECRETS_STOCKX"]


def test_dev_secrets_are_valid_settings(tmp_path: Path) -> None:
    from soleflip.common.http.auth import hash_token
    from soleflip.common.settings import load_settings

    values, token = devstack.load_or_create_secrets(tmp_path / "dev.env")
    settings = load_settings(values)
    assert token is not None
    assert settings.api_tokens[0].sha256 == hash_token(token)
    assert settings.api_tokens[0].scopes == {"read", "write", "admin"}
    assert len(settings.fernet_keys) == 1


def test_workspace_root_is_the_directory_with_uv_lock(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").write_text("")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert devstack.workspace_root(nested) == tmp_path


def test_dev_records_its_urls_in_dev_env_next_to_the_secrets(tmp_path: Path) -> None:
    stack = devstack.DevStack(devstack.DevOptions(data_dir=str(tmp_path)), environ={})
    secrets, _ = devstack.load_or_create_secrets(tmp_path / "dev.env")
    stack.env |= {
        "SOLEFLIP_DATABASE_URL": "postgresql://postgres@127.0.0.1:5433/soleflip",
        "SOLEFLIP_NATS_URL": "nats://127.0.0.1:4223",
    }
    stack._record_urls()
    stack.env["SOLEFLIP_NATS_URL"] = "nats://127.0.0.1:4224"  # a later run on another port
    stack._record_urls()
    recorded = read_env_file(tmp_path / "dev.env")
    assert recorded == secrets | {
        "SOLEFLIP_DATABASE_URL": "postgresql://postgres@127.0.0.1:5433/soleflip",
        "SOLEFLIP_NATS_URL": "nats://127.0.0.1:4224",
    }
    assert stat.S_IMODE((tmp_path / "dev.env").stat().st_mode) == 0o600


def test_dev_env_fills_only_what_the_environment_does_not_set(tmp_path: Path) -> None:
    (tmp_path / ".soleflip").mkdir()
    write_env_values(tmp_path / ".soleflip" / "dev.env", {"A": "from-file", "B": "from-file"})
    below = tmp_path / "services" / "orders"
    below.mkdir(parents=True)
    assert dev_defaults({"A": "mine"}, below) == {"B": "from-file"}  # found from a subdirectory
    assert dev_defaults({}, tmp_path.parent) == {}


def test_progress_off_a_terminal_is_a_plain_periodic_line() -> None:
    out = io.StringIO()
    now = [0.0]
    bar = PlainProgress("sync orders", unit="order", stream=out, every=10, clock=lambda: now[0])
    with bar:
        for _ in range(25):
            now[0] += 1
            bar.update(4)
    assert out.getvalue().splitlines() == [
        "sync orders: 40 order (10 s)",
        "sync orders: 80 order (20 s)",
        "sync orders: 100 order (25 s)",
    ]
    assert "\r" not in out.getvalue()


def test_progress_is_a_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert isinstance(progress("x"), PlainProgress)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert not isinstance(progress("x"), PlainProgress)


@pytest.mark.parametrize(
    ("what", "option"),
    [("catalog", "--retry-failed"), ("orders", "--adopt"), ("market", "--since")],
)
def test_sync_help_of_a_target_shows_every_option_it_takes(
    capsys: pytest.CaptureFixture[str], what: str, option: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["sync", what, "--help"])
    assert exc.value.code == 0
    assert option in capsys.readouterr().out


def test_sync_help_lists_the_targets(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sync", "--help"]) == 0
    out = capsys.readouterr().out
    assert all(target in out for target in cli.SYNC_TARGETS)
    assert "sync <what> --help" in out
