"""The whole system served as production runs it, for tests that attack it from outside: one fresh
database with every schema migrated, a NATS namespace, the StockX simulator, and `soleflip serve`
processes of ingest, catalog, orders and pricing on free ports (and the console on request)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.resources
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg

from soleflip.common.bus import Names
from soleflip.common.db import migrate
from soleflip.common.http import hash_token
from soleflip.common.testing.plugin import database_dsn
from soleflip.common.testing.procs import served
from tests.support.sim import Sim, env_for, settings_for, simulator_process

SERVICES = ("ingest", "catalog", "orders", "pricing")
MIGRATED = ("catalog", "orders", "pricing")
#: Bearer tokens of the served REST APIs: one that may do anything.
ADMIN_TOKEN = "sf_stack_admin_" + secrets.token_hex(8)
#: Tokens a person signs in to the console with: one that may only read, one that may write.
READER_TOKEN = "sf_stack_reader_" + secrets.token_hex(8)
WRITER_TOKEN = "sf_stack_writer_" + secrets.token_hex(8)
N8N_TOKEN = "n8n-stack-" + secrets.token_hex(12)


@dataclass(frozen=True)
class Stack:
    """Base URLs of the served services and the credentials they accept."""

    urls: dict[str, str]
    sim_url: str
    names: Names
    n8n_secret: str
    nats_url: str = ""
    admin_token: str = ADMIN_TOKEN
    n8n_token: str = N8N_TOKEN


@contextlib.contextmanager
def served_stack(
    database_url: str, nats_url: str, *, products: int = 8, console: bool = False
) -> Iterator[Stack]:
    """Every service served against its own new database and NATS prefix until the block ends;
    with `console`, the console too (`urls["console"]`), calling them with the admin token."""
    names = Names(prefix=f"t{secrets.token_hex(4)}")
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    with _fresh_database(database_url) as dsn, simulator_process() as sim_url:
        Sim(sim_url).seed(7, products)
        env = env_for(settings_for(dsn, nats_url, names, sim_url)) | {
            "SOLEFLIP_API_TOKENS": ";".join(
                (
                    f"admin:admin:{hash_token(ADMIN_TOKEN)}",
                    f"reader:read:{hash_token(READER_TOKEN)}",
                    f"writer:write:{hash_token(WRITER_TOKEN)}",
                )
            ),
            "SOLEFLIP_WEBHOOK_SECRETS_STOCKX": secret,
            "SOLEFLIP_WEBHOOK_SECRETS_N8N": secret,
            "SOLEFLIP_N8N_TOKENS": N8N_TOKEN,
            "SOLEFLIP_POLL_INTERVAL_S": "3600",
        }
        with contextlib.ExitStack() as stack:
            urls = {s: stack.enter_context(served("serve", s, env=env)) for s in SERVICES}
            if console:
                wired = {f"SOLEFLIP_CONSOLE_{s.upper()}_URL": url for s, url in urls.items()}
                wired["SOLEFLIP_CONSOLE_SERVICE_TOKEN"] = ADMIN_TOKEN
                urls["console"] = stack.enter_context(served("serve", "console", env=env | wired))
            yield Stack(urls, sim_url, names, secret, nats_url)


@contextlib.contextmanager
def _fresh_database(database_url: str) -> Iterator[str]:
    name = f"soleflip_t_{secrets.token_hex(6)}"
    asyncio.run(_admin(database_url, f'CREATE DATABASE "{name}"'))
    dsn = database_dsn(database_url, name)
    try:
        asyncio.run(_migrate_all(dsn))
        yield dsn
    finally:
        asyncio.run(_admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(database_url: str, sql: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate_all(dsn: str) -> None:
    for service in MIGRATED:
        await migrate(dsn, service, importlib.resources.files(f"soleflip.{service}") / "migrations")
