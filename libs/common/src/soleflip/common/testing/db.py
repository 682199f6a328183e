"""Test helpers for `soleflip.common.db`: random service names whose cluster-global roles are
dropped afterwards, and DSNs that log in as another role."""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from soleflip.common.db import create_pool, migrate, quote_ident, role_name

ROLE_EXISTS_SQL = "SELECT true FROM pg_roles WHERE rolname = $1"


def dsn_as(dsn: str, user: str, password: str | None = None) -> str:
    """`dsn` logging in as `user` (with `password`); host, port, database and query are kept."""
    parts = urllib.parse.urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    auth = urllib.parse.quote(user, safe="")
    if password is not None:
        auth += ":" + urllib.parse.quote(password, safe="")
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{auth}@{host}"))


class ServiceNames:
    """Hands out random service names and remembers them, and the databases they live in."""

    def __init__(self, admin_dsn: str) -> None:
        self.dsns = [admin_dsn]
        self.services: list[str] = []

    def new(self, prefix: str = "t") -> str:
        service = f"{prefix}{secrets.token_hex(4)}"
        self.services.append(service)
        return service


async def drop_service_roles(dsns: list[str], services: list[str]) -> None:
    """Drop the roles of `services`, after dropping what they own in each of `dsns`."""
    for dsn in dsns:
        conn = await asyncpg.connect(dsn)
        try:
            for service in services:
                if await conn.fetchval(ROLE_EXISTS_SQL, role_name(service)):
                    await conn.execute(f"DROP OWNED BY {quote_ident(role_name(service))} CASCADE")
        finally:
            await conn.close()
    conn = await asyncpg.connect(dsns[0])
    try:
        for service in services:
            await conn.execute(f"DROP ROLE IF EXISTS {quote_ident(role_name(service))}")
    finally:
        await conn.close()


@asynccontextmanager
async def service_names(admin_dsn: str) -> AsyncIterator[ServiceNames]:
    """Random service names for one test; their roles are dropped on exit (roles outlive
    databases, so parallel and repeated runs would otherwise collide)."""
    names = ServiceNames(admin_dsn)
    try:
        yield names
    finally:
        await drop_service_roles(names.dsns, names.services)


def write_migrations(directory: Path, files: dict[str, str]) -> Path:
    """Write `{file name: SQL}` into `directory` (created when missing); returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


@asynccontextmanager
async def migrated_pool(
    admin_dsn: str, migrations: Path, files: dict[str, str] | None = None, *, max_size: int = 4
) -> AsyncIterator[asyncpg.Pool]:
    """A random service migrated into `admin_dsn` (writing `files` into `migrations` first) and a
    pool on its schema; the pool is closed and the role dropped on exit."""
    write_migrations(migrations, files or {})
    async with service_names(admin_dsn) as services:
        svc = services.new()
        await migrate(admin_dsn, svc, migrations)
        pool = await create_pool(admin_dsn, schema=svc, max_size=max_size)
        try:
            yield pool
        finally:
            await pool.close()
