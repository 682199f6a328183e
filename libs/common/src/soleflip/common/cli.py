"""`soleflip`: the one console entry point (ARCHITECTURE.md section 3).

Everything service-specific is imported lazily, so the CLI works while services are being built:
a command whose module does not exist yet says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.resources
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from soleflip.common.cli_env import dev_defaults, unreachable
from soleflip.common.settings import Settings, SettingsError

SERVICES = ("ingest", "catalog", "orders", "pricing", "console", "stockx-sim")
# Services that own a Postgres schema (ARCHITECTURE.md section 4); the others are skipped.
SCHEMA_SERVICES = ("catalog", "orders", "pricing")
SYNC_TARGETS = {"orders": "orders", "listings": "orders", "catalog": "catalog", "market": "pricing"}
# Commands an operator runs next to a system: they read `./.soleflip/dev.env` for what the
# environment does not set, and fail with one line when a dependency is down.
OPERATOR_COMMANDS = ("migrate", "sync", "dlq", "webhook")


class CliError(Exception):
    """A user-facing failure: printed as `soleflip: error: ...`, exits with `code`."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def package_of(service: str) -> str:
    """`stockx-sim` -> `soleflip.stockx_sim`."""
    return f"soleflip.{service.replace('-', '_')}"


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def available_services() -> list[str]:
    """The services whose `app` module is installed, in contract order."""
    return [s for s in SERVICES if module_exists(f"{package_of(s)}.app")]


def _check_service(service: str, allowed: Sequence[str] = SERVICES) -> None:
    built = [s for s in available_services() if s in allowed]
    if service not in allowed:
        raise CliError(f"unknown service {service!r}; available: {', '.join(built) or 'none'}")
    if service not in built:
        raise CliError(
            f"service {service!r} is not built yet; available: {', '.join(built) or 'none'}"
        )


def cmd_serve(args: argparse.Namespace) -> int:
    """Build the service's app from settings and serve it until SIGTERM/SIGINT."""
    _check_service(args.service)
    from soleflip.common.http import serve
    from soleflip.common.settings import load_settings

    settings = load_settings()
    module = importlib.import_module(f"{package_of(args.service)}.app")
    app = module.create_app(settings)
    port = args.port or settings.http_port or int(module.DEFAULT_PORT)
    serve(app, host=args.host or settings.http_host, port=port)
    return 0


def require(
    command: str, settings: Settings, *, postgres: str | None = None, nats: bool = False
) -> None:
    """Fail at once, in one line, when a dependency the command needs does not answer."""
    needed = [("Postgres", [postgres], 5432)] if postgres else []
    needed += [("NATS", list(settings.nats_url), 4222)] if nats else []
    problem = unreachable(needed)
    if problem:
        raise CliError(f"{command}: {problem}", code=1)


def has_migrations(service: str) -> bool:
    """True when the service's package ships `migrations/` (it may not serve HTTP yet)."""
    package = package_of(service)
    if not module_exists(package):
        return False
    return importlib.resources.files(package).joinpath("migrations").is_dir()


def migration_targets(target: str) -> list[str]:
    """The schema services `migrate <target>` applies; raises CliError for unknown names."""
    if target == "all":
        return [s for s in SCHEMA_SERVICES if has_migrations(s)]
    if target not in SERVICES:
        raise CliError(f"unknown service {target!r}; one of: all, {', '.join(SERVICES)}")
    if target not in SCHEMA_SERVICES:
        return []
    if not has_migrations(target):
        raise CliError(f"service {target!r} is not built yet: it has no migrations")
    return [target]


def cmd_migrate(args: argparse.Namespace) -> int:
    from soleflip.common.settings import load_settings

    services = migration_targets(args.target)
    if not services:
        why = "no service with a schema is built" if args.target == "all" else "it has no schema"
        print(f"migrate {args.target}: skipped ({why})")
        return 0
    settings = load_settings()
    require(f"migrate {args.target}", settings, postgres=settings.admin_dsn)
    return migrate_services(settings.admin_dsn, services)


def migrate_services(admin_dsn: str, services: Sequence[str]) -> int:
    """Apply each service's packaged migrations (`soleflip/<svc>/migrations/*.sql`)."""
    db = _lazy("soleflip.common.db", "migrate is not available yet: soleflip.common.db is missing")
    import asyncpg

    for service in services:
        migrations = importlib.resources.files(package_of(service)).joinpath("migrations")
        try:
            applied = asyncio.run(db.migrate(admin_dsn, service, migrations))
        except (OSError, asyncpg.PostgresError, db.MigrationError) as exc:
            raise CliError(f"migrate {service} failed: {exc}", code=1) from exc
        print(f"migrate {service}: {len(applied)} applied {' '.join(applied)}".rstrip())
    return 0


def _lazy(module: str, missing: str) -> ModuleType:
    if not module_exists(module):
        raise CliError(missing)
    return importlib.import_module(module)


def cmd_sync(args: argparse.Namespace) -> int:
    """Delegate to `soleflip.<svc>.sync.main(argv) -> int` (argv: `<what> [--since DATE] ...`);
    options the CLI does not know are passed through for the service's own parser."""
    if args.what is None:
        args.sync_parser.print_help()
        return 0 if args.help else 2
    service = SYNC_TARGETS[args.what]
    sync = _lazy(
        f"{package_of(service)}.sync",
        f"sync {args.what} is not available yet: the {service} service is not built",
    )
    if args.help:
        return int(sync.main([args.what, "--help"]) or 0)  # argparse prints it and exits 0
    from soleflip.common.settings import load_settings

    settings = load_settings()
    require(f"sync {args.what}", settings, postgres=settings.database_url, nats=True)
    argv = [args.what, *(["--since", args.since] if args.since else []), *args.extra]
    return int(sync.main(argv) or 0)


def cmd_stock(args: argparse.Namespace) -> int:
    """Delegate to `soleflip.orders.stock.main(argv) -> int` (`import <file> [--dry-run]`)."""
    stock = _lazy("soleflip.orders.stock", "stock is not available yet: orders is not built")
    return int(stock.main([args.action, args.file, *args.extra]) or 0)


def cmd_fx(args: argparse.Namespace) -> int:
    """Delegate to `soleflip.orders.fx.main(argv) -> int` (argv: `import <csv> [options]`)."""
    fx = _lazy(
        "soleflip.orders.fx", "fx import is not available yet: the orders service is not built"
    )
    return int(fx.main([args.action, args.csv, *args.extra]) or 0)


def cmd_webhook_send(args: argparse.Namespace) -> int:
    """Delegate to `soleflip.ingest.sender.main(argv) -> int`, passing unknown options through."""
    sender = _lazy(
        "soleflip.ingest.sender",
        "webhook send is not available yet: the ingest sender is not built",
    )
    argv = [args.type, args.json_file, "--source", args.source]
    argv += [*(["--url", args.url] if args.url else [])]
    argv += [*(["--secret", args.secret] if args.secret else []), *args.extra]
    return int(sender.main(argv) or 0)


def cmd_dlq(args: argparse.Namespace) -> int:
    _lazy("soleflip.common.bus.dlq", "dlq is not available yet: soleflip.common.bus.dlq is missing")
    return asyncio.run(_dlq(args))


async def _dlq(args: argparse.Namespace) -> int:
    import json

    from soleflip.common.bus import dlq
    from soleflip.common.bus.connection import connect, disconnect
    from soleflip.common.bus.names import Names
    from soleflip.common.errors import NotFound
    from soleflip.common.observability import configure_observability
    from soleflip.common.settings import load_settings

    settings = load_settings()
    require(f"dlq {args.action}", settings, nats=True)
    # stdout is the command's result (`--json` is piped to jq): connection logs go to stderr.
    configure_observability("soleflip-cli", settings, logs_to_stderr=True)
    names = Names(prefix=settings.nats_prefix)
    nc = await connect(settings.nats_url, name="soleflip-cli", first_connect_timeout=10)
    try:
        js = nc.jetstream()
        if args.action == "list":
            letters = await dlq.list_dead_letters(js, names, args.consumer, limit=args.limit)
            for letter in letters:
                print(json.dumps(letter.to_dict()) if args.json else letter.summary())
            return 0
        done = await dlq.replay(
            js, names, consumer=args.consumer, seqs=args.seq, limit=args.limit, delete=not args.keep
        )
    except NotFound as exc:
        print(f"soleflip dlq: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        await disconnect(nc)
    failed = [r for r in done if isinstance(r.result, Exception)]
    for r in done:
        print(f"#{r.dead_letter.seq} {'FAILED ' + str(r.result) if r in failed else 'replayed'}")
    return 1 if failed else 0


def cmd_dev(args: argparse.Namespace) -> int:
    from soleflip.common.localinfra.devstack import DevOptions, run_dev

    return run_dev(DevOptions(data_dir=args.data_dir, quiet=args.quiet, timeout=args.timeout))


def _serve_parser(sub: Any, name: str, help_text: str, with_service: bool) -> None:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    if with_service:
        parser.add_argument("service", help=f"one of: {', '.join(SERVICES)}")
    parser.add_argument("--host", help="bind address (default SOLEFLIP_HTTP_HOST)")
    parser.add_argument("--port", type=int, help="port (default SOLEFLIP_HTTP_PORT or its own)")
    parser.set_defaults(func=cmd_serve)
    if not with_service:
        parser.set_defaults(service="stockx-sim")


def _add_dev(sub: Any) -> None:
    dev = sub.add_parser("dev", help="the whole system on this machine; Ctrl-C stops it")
    dev.add_argument("--data-dir", default=None, help="state directory (default ./.soleflip)")
    dev.add_argument("--quiet", action="store_true", help="do not echo service logs")
    dev.add_argument("--timeout", type=float, default=90.0, help="readiness timeout (s)")
    dev.set_defaults(func=cmd_dev)


def _add_ops(sub: Any) -> None:
    migrate = sub.add_parser("migrate", help="apply a service's migrations (idempotent)")
    migrate.add_argument("target", help=f"'all' or one of: {', '.join(SERVICES)}")
    migrate.set_defaults(func=cmd_migrate)
    # No argparse -h here: `sync <what> --help` goes to that target's own parser, which shows
    # every option it takes (they are passed through).
    sync = sub.add_parser(
        "sync",
        help="one-off backfill/reconcile from StockX",
        add_help=False,
        epilog="`soleflip sync <what> --help` shows every option of that target.",
    )
    sync.add_argument("what", choices=sorted(SYNC_TARGETS), nargs="?")
    sync.add_argument("--since", help="start date (YYYY-MM-DD)")
    sync.add_argument("-h", "--help", action="store_true", help="show this help (or the target's)")
    sync.set_defaults(func=cmd_sync, passthrough=True, sync_parser=sync)
    stock = sub.add_parser("stock", help="stock units: import purchases from a CSV file")
    stock.add_argument("action", choices=["import"])
    stock.add_argument("file", help="CSV file with a header row (columns: see README)")
    stock.set_defaults(func=cmd_stock, passthrough=True)
    fx = sub.add_parser("fx", help="FX reference rates (orders converts profit with them)")
    fx.add_argument("action", choices=["import"])
    fx.add_argument("csv", help="an ECB reference-rates CSV (eurofxref.csv or -hist.csv)")
    fx.set_defaults(func=cmd_fx, passthrough=True)
    dlq = sub.add_parser("dlq", help="inspect and replay dead letters")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("--consumer", help="contract consumer name, e.g. orders-ingest")
    dlq.add_argument("--seq", type=int, action="append", help="DLQ sequence (replay; repeatable)")
    dlq.add_argument("--limit", type=int, default=100)
    dlq.add_argument("--json", action="store_true", help="list: one JSON object per line")
    dlq.add_argument("--keep", action="store_true", help="replay: keep the dead letters")
    dlq.set_defaults(func=cmd_dlq)


def _add_webhook(sub: Any) -> None:
    webhook = sub.add_parser("webhook", help="webhook tools")
    actions = webhook.add_subparsers(dest="action", required=True, metavar="ACTION")
    send = actions.add_parser("send", help="sign and send a webhook")
    send.add_argument("type", help="event type, e.g. stockx.order.updated")
    send.add_argument("json_file", help="the event's data (or a whole event) as JSON")
    send.add_argument(
        "--url", help="ingest URL (default SOLEFLIP_INGEST_URL, else 127.0.0.1:SOLEFLIP_HTTP_PORT)"
    )
    send.add_argument("--source", choices=["stockx", "n8n"], default="stockx")
    send.add_argument("--secret", help="whsec_... (default from SOLEFLIP_WEBHOOK_SECRETS_*)")
    send.set_defaults(func=cmd_webhook_send, passthrough=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="soleflip", description="SoleFlip: a StockX reseller backend."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_dev(sub)
    _serve_parser(sub, "serve", "run one service (what containers run)", with_service=True)
    _serve_parser(sub, "stockx-sim", "run the StockX simulator alone", with_service=False)
    _add_ops(sub)
    _add_webhook(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default `sys.argv[1:]`), run the command, return the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    func: Callable[[argparse.Namespace], int] = args.func
    if args.command in OPERATOR_COMMANDS:
        # The process boundary: settings (and sync's own parsers) read the environment after.
        os.environ.update(dev_defaults(os.environ, Path.cwd()))
    try:
        return func(args)
    except Exception as exc:
        return _failed(args.command, exc)
    except KeyboardInterrupt:
        return 130


def _failed(command: str, exc: Exception) -> int:
    """One line on stderr for a user-facing failure or an outage; a bug keeps its traceback."""
    from soleflip.common.outages import is_outage

    if isinstance(exc, CliError):
        print(f"soleflip: error: {exc}", file=sys.stderr)
        return exc.code
    if isinstance(exc, SettingsError):
        print(f"soleflip: error: {exc}", file=sys.stderr)
        return 2
    if is_outage(exc):
        detail = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
        print(f"soleflip: error: {command}: a dependency is unavailable: {detail}", file=sys.stderr)
        return 1
    raise exc


if __name__ == "__main__":
    sys.exit(main())
