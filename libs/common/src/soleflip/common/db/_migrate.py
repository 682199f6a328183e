"""Forward-only SQL migrations: one schema and one login role per service (ARCHITECTURE.md s. 7).

`migrate` creates the role and the schema, applies the library's own migrations (inbox, outbox,
poll_state) and then the service's `NNNN_name.sql` files, each in its own transaction and as the
service role, so the role owns every object of its schema and nothing else. A session-level advisory
lock keyed on the schema serialises concurrent migrators; each file is recorded with its checksum in
`<schema>.schema_migrations`, and a changed file is refused.

Every migrated schema also lets the read-only role `soleflip_analytics` (BI tools) look up names
in it; what it may read is only what a migration grants it: the schema's documented `v_*` views.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import asyncpg
import structlog

from soleflip.common.db._pool import DB_ERRORS, quote_ident

log = structlog.get_logger(__name__)

_SERVICE_RE = re.compile(r"[a-z][a-z0-9_]{0,40}")
_FILE_RE = re.compile(r"(\d{4}_[A-Za-z0-9_-]+)\.sql")

LOCK_SQL = "SELECT pg_advisory_lock(hashtextextended($1, 0))"
UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtextextended($1, 0))"
ROLE_EXISTS_SQL = "SELECT true FROM pg_roles WHERE rolname = $1"
IS_SUPERUSER_SQL = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
HAS_ROLE_SQL = "SELECT pg_has_role(current_user, $1, $2)"
ROLE_SEARCH_PATH_SQL = """
SELECT coalesce(s.setconfig, '{}'::text[]) @> ARRAY['search_path=' || $2]
FROM pg_roles r
LEFT JOIN pg_db_role_setting s ON s.setrole = r.oid AND s.setdatabase = 0
WHERE r.rolname = $1
"""
SET_PASSWORD_SQL = "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)"  # noqa: S105
CURRENT_DATABASE_SQL = "SELECT current_database()"
CAN_CONNECT_SQL = "SELECT has_database_privilege($1, current_database(), 'CONNECT')"
PUBLIC_CAN_CREATE_SQL = """
SELECT EXISTS (
    SELECT 1
    FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
    WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE'
)
"""
CREATE_ROLE_SQL = "CREATE ROLE {role} LOGIN"
ANALYTICS_ROLE = "soleflip_analytics"
ROLE_READ_ONLY_SQL = """
SELECT coalesce(s.setconfig, '{}'::text[]) @> ARRAY['default_transaction_read_only=on']
FROM pg_roles r
LEFT JOIN pg_db_role_setting s ON s.setrole = r.oid AND s.setdatabase = 0
WHERE r.rolname = $1
"""
ALTER_ROLE_READ_ONLY_SQL = "ALTER ROLE {role} SET default_transaction_read_only = on"
GRANT_SCHEMA_USAGE_SQL = "GRANT USAGE ON SCHEMA {schema} TO {role}"
ALTER_ROLE_SEARCH_PATH_SQL = "ALTER ROLE {role} SET search_path = {path}"
GRANT_ROLE_TO_ADMIN_SQL = "GRANT {role} TO CURRENT_USER"
CREATE_SCHEMA_SQL = "CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}"
SCHEMA_OWNER_SQL = "ALTER SCHEMA {schema} OWNER TO {role}"
GRANT_CONNECT_SQL = "GRANT CONNECT ON DATABASE {database} TO {role}"
# PostgreSQL 15 already ships this default; older clusters let every role create in `public`.
REVOKE_PUBLIC_CREATE_SQL = "REVOKE CREATE ON SCHEMA public FROM PUBLIC"
AS_ADMIN_MARK = "--soleflip:as-admin"
AS_ADMIN_SQL = "SET LOCAL search_path = {schema}, public"
AS_SERVICE_SQL = "SET LOCAL ROLE {role}; SET LOCAL search_path = {schema}, public"
CREATE_MIGRATIONS_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
    name       text        PRIMARY KEY,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
APPLIED_SQL = "SELECT name, checksum FROM {schema}.schema_migrations"
RECORD_SQL = "INSERT INTO {schema}.schema_migrations (name, checksum) VALUES ($1, $2)"


class MigrationError(RuntimeError):
    """Migrations cannot be applied: a bad service name or file, or an applied file changed."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One forward-only SQL file: its name (without `.sql`), sha256 checksum and text.

    `as_admin` files (first line `-- soleflip: as-admin`) run as the migrating admin instead of
    the service role, for what the role may not do, such as `CREATE EXTENSION`; whatever they
    create belongs to the admin, so keep them to that.
    """

    name: str
    checksum: str
    sql: str

    @property
    def as_admin(self) -> bool:
        first_line = self.sql.lstrip().partition("\n")[0]
        return first_line.replace(" ", "").lower() == AS_ADMIN_MARK


@dataclass(frozen=True, slots=True)
class _Target:
    """The quoted identifiers of one service's schema and role."""

    service: str
    schema: str
    role: str
    role_name: str


def role_name(service: str) -> str:
    """The login role of a service: `soleflip_<service>`."""
    return f"soleflip_{service}"


def load_migrations(source: Traversable | Path) -> list[Migration]:
    """The `NNNN_name.sql` files of a directory, in name order; other files are ignored."""
    found = []
    for entry in source.iterdir():
        match = _FILE_RE.fullmatch(entry.name)
        if match is None or not entry.is_file():
            continue
        raw = entry.read_bytes()
        found.append(Migration(match[1], hashlib.sha256(raw).hexdigest(), raw.decode()))
    return sorted(found, key=lambda m: m.name)


def library_migrations() -> list[Migration]:
    """The tables every service schema has, applied before the service's own files."""
    return load_migrations(files("soleflip.common.db").joinpath("migrations"))


def _plan(migrations: Traversable | Path) -> list[Migration]:
    plan = [*library_migrations(), *load_migrations(migrations)]
    names = [m.name for m in plan]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MigrationError(f"migration names used twice (the library owns 0000_*): {duplicates}")
    return plan


def _target(service: str) -> _Target:
    if _SERVICE_RE.fullmatch(service) is None:
        raise MigrationError(f"service name {service!r} must match {_SERVICE_RE.pattern}")
    role = role_name(service)
    return _Target(service, quote_ident(service), quote_ident(role), role)


async def migrate(
    admin_dsn: str,
    service: str,
    migrations: Traversable | Path,
    *,
    password: str | None = None,
) -> list[str]:
    """Create `service`'s role and schema and apply its pending migrations; returns their names.

    Safe to run concurrently from several processes: each file is applied exactly once.
    `password` (when given) becomes the role's password; `None` leaves it unchanged.
    """
    target = _target(service)
    plan = _plan(migrations)
    conn = await asyncpg.connect(admin_dsn, server_settings={"statement_timeout": "0"})
    lock_key = f"soleflip.migrate:{service}"
    try:
        await conn.execute(LOCK_SQL, lock_key)
        try:
            await _ensure_role(conn, target, password)
            await _ensure_analytics_role(conn)
            await _ensure_schema(conn, target)
            return await _apply_pending(conn, target, plan)
        finally:
            # Closing the session frees the lock anyway; never mask the real error with this.
            with contextlib.suppress(*DB_ERRORS):
                await conn.execute(UNLOCK_SQL, lock_key)
    finally:
        await conn.close()


async def _cluster_ddl(conn: asyncpg.Connection, sql: str, *, attempts: int = 5) -> None:
    """Run a statement on a cluster-global object (a role), which migrators of other databases
    may be changing at the same moment: the advisory lock is per database, so races are handled
    here. A concurrent creator wins with duplicate_object (or a unique violation on
    pg_authid); a concurrent updater fails with "tuple concurrently updated" and is retried."""
    for attempt in range(attempts):
        try:
            await conn.execute(sql)
            return
        except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
            return
        except asyncpg.InternalServerError as exc:
            if "concurrently" not in str(exc) or attempt == attempts - 1:
                raise


async def _ensure_role(conn: asyncpg.Connection, target: _Target, password: str | None) -> None:
    if not await conn.fetchval(ROLE_EXISTS_SQL, target.role_name):
        await _cluster_ddl(conn, CREATE_ROLE_SQL.format(role=target.role))
        log.info("db.role_created", role=target.role_name)
    path = f"{target.schema}, public"
    if not await conn.fetchval(ROLE_SEARCH_PATH_SQL, target.role_name, path):
        await _cluster_ddl(conn, ALTER_ROLE_SEARCH_PATH_SQL.format(role=target.role, path=path))
    if password is not None:
        await _cluster_ddl(conn, await conn.fetchval(SET_PASSWORD_SQL, target.role_name, password))
    await _ensure_admin_can_become(conn, target)


async def _ensure_analytics_role(conn: asyncpg.Connection) -> None:
    """The BI role: it logs in (its password is set by the roles scripts, never here), reads
    only what migrations grant it, and its sessions are read-only by default as a second guard."""
    role = quote_ident(ANALYTICS_ROLE)
    if not await conn.fetchval(ROLE_EXISTS_SQL, ANALYTICS_ROLE):
        await _cluster_ddl(conn, CREATE_ROLE_SQL.format(role=role))
        log.info("db.role_created", role=ANALYTICS_ROLE)
    if not await conn.fetchval(ROLE_READ_ONLY_SQL, ANALYTICS_ROLE):
        await _cluster_ddl(conn, ALTER_ROLE_READ_ONLY_SQL.format(role=role))
    await _ensure_connect(conn, ANALYTICS_ROLE)


async def _ensure_connect(conn: asyncpg.Connection, role: str) -> None:
    # A shared row other services' migrators may touch too: only when needed, and retried.
    if not await conn.fetchval(CAN_CONNECT_SQL, role):
        database = quote_ident(await conn.fetchval(CURRENT_DATABASE_SQL))
        await _cluster_ddl(
            conn, GRANT_CONNECT_SQL.format(database=database, role=quote_ident(role))
        )


async def _ensure_admin_can_become(conn: asyncpg.Connection, target: _Target) -> None:
    """Migrations run as the service role (`SET ROLE`), which a non-superuser admin may only do
    as a member of it; PostgreSQL 16 made that a separate `SET` option of the membership."""
    if await conn.fetchval(IS_SUPERUSER_SQL):
        return
    option = "SET" if conn.get_server_version().major >= 16 else "MEMBER"
    if not await conn.fetchval(HAS_ROLE_SQL, target.role_name, option):
        await _cluster_ddl(conn, GRANT_ROLE_TO_ADMIN_SQL.format(role=target.role))


async def _ensure_schema(conn: asyncpg.Connection, target: _Target) -> None:
    await conn.execute(CREATE_SCHEMA_SQL.format(schema=target.schema, role=target.role))
    await conn.execute(SCHEMA_OWNER_SQL.format(schema=target.schema, role=target.role))
    await _ensure_connect(conn, target.role_name)
    if await conn.fetchval(PUBLIC_CAN_CREATE_SQL):
        # Without ownership of `public` this only warns ("no privileges were revoked").
        await _cluster_ddl(conn, REVOKE_PUBLIC_CREATE_SQL)
    async with conn.transaction():
        await conn.execute(AS_SERVICE_SQL.format(role=target.role, schema=target.schema))
        await conn.execute(CREATE_MIGRATIONS_TABLE_SQL.format(schema=target.schema))
        analytics = quote_ident(ANALYTICS_ROLE)
        await conn.execute(GRANT_SCHEMA_USAGE_SQL.format(schema=target.schema, role=analytics))


async def _apply_pending(
    conn: asyncpg.Connection, target: _Target, plan: list[Migration]
) -> list[str]:
    rows = await conn.fetch(APPLIED_SQL.format(schema=target.schema))
    applied = {row["name"]: row["checksum"] for row in rows}
    for migration in plan:
        recorded = applied.get(migration.name)
        if recorded is not None and recorded != migration.checksum:
            raise MigrationError(
                f"migration {migration.name}.sql of {target.service!r} changed after it was "
                f"applied (checksum {recorded[:12]}… is now {migration.checksum[:12]}…); "
                "migrations are forward-only: add a new file instead"
            )
    done = []
    for migration in (m for m in plan if m.name not in applied):
        async with conn.transaction():
            preamble = AS_ADMIN_SQL if migration.as_admin else AS_SERVICE_SQL
            await conn.execute(preamble.format(role=target.role, schema=target.schema))
            await conn.execute(migration.sql)
            await conn.execute(
                RECORD_SQL.format(schema=target.schema), migration.name, migration.checksum
            )
        log.info("db.migration_applied", service=target.service, migration=migration.name)
        done.append(migration.name)
    return done
