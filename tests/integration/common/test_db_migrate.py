"""Migrations: per-service schema and role, library tables, exactly-once files, checksums."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from soleflip.common.db import MigrationError, migrate, role_name
from soleflip.common.testing.db import ServiceNames, dsn_as, service_names
from soleflip.common.testing.plugin import database_dsn

MIGRATIONS_SQL = "SELECT name FROM schema_migrations ORDER BY name"
MIGRATE_SCRIPT = """
import asyncio, json, pathlib, sys
from soleflip.common.db import migrate
applied = asyncio.run(migrate(sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])))
print(json.dumps(applied))
"""


@pytest.fixture
async def services(fresh_database: str) -> AsyncIterator[ServiceNames]:
    async with service_names(fresh_database) as names:
        yield names


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


async def fetch(dsn: str, sql: str, *args: object, schema: str = "public") -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_migrate_creates_library_tables_owned_by_the_service_role(
    fresh_database: str, services: ServiceNames, tmp_path: Path
) -> None:
    svc = services.new()
    files = write(tmp_path, {"0001_things.sql": "CREATE TABLE things (id int PRIMARY KEY);"})

    applied = await migrate(fresh_database, svc, files)

    assert applied == ["0000_base", "0000_leader", "0001_things"]
    tables = await fetch(
        fresh_database,
        "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = $1",
        svc,
    )
    assert {r["tablename"]: r["tableowner"] for r in tables} == {
        name: role_name(svc)
        for name in ("schema_migrations", "inbox", "outbox", "poll_state", "leader", "things")
    }


async def test_rerun_applies_only_new_files(
    fresh_database: str, services: ServiceNames, tmp_path: Path
) -> None:
    svc = services.new()
    files = write(tmp_path, {"0001_things.sql": "CREATE TABLE things (id int PRIMARY KEY);"})
    await migrate(fresh_database, svc, files)

    assert await migrate(fresh_database, svc, files) == []
    write(tmp_path, {"0002_more.sql": "ALTER TABLE things ADD COLUMN v text;"})
    assert await migrate(fresh_database, svc, files) == ["0002_more"]
    rows = await fetch(fresh_database, MIGRATIONS_SQL, schema=svc)
    assert [r["name"] for r in rows] == ["0000_base", "0000_leader", "0001_things", "0002_more"]


async def test_changed_applied_file_is_refused_naming_it(
    fresh_database: str, services: ServiceNames, tmp_path: Path
) -> None:
    svc = services.new()
    files = write(tmp_path, {"0001_things.sql": "CREATE TABLE things (id int PRIMARY KEY);"})
    await migrate(fresh_database, svc, files)
    write(tmp_path, {"0001_things.sql": "CREATE TABLE things (id bigint PRIMARY KEY);"})
    write(tmp_path, {"0002_more.sql": "CREATE TABLE more (id int);"})

    with pytest.raises(MigrationError, match=r"0001_things\.sql"):
        await migrate(fresh_database, svc, files)

    rows = await fetch(fresh_database, MIGRATIONS_SQL, schema=svc)
    assert "0002_more" not in {r["name"] for r in rows}


async def test_failing_file_rolls_back_and_is_not_recorded(
    fresh_database: str, services: ServiceNames, tmp_path: Path
) -> None:
    svc = services.new()
    files = write(
        tmp_path,
        {"0001_bad.sql": "CREATE TABLE half (id int); SELECT * FROM no_such_table;"},
    )

    with pytest.raises(asyncpg.UndefinedTableError):
        await migrate(fresh_database, svc, files)

    rows = await fetch(fresh_database, MIGRATIONS_SQL, schema=svc)
    assert [r["name"] for r in rows] == ["0000_base", "0000_leader"]
    assert not await fetch(fresh_database, "SELECT 1 FROM pg_tables WHERE tablename = 'half'")


async def test_invalid_service_name_is_refused(fresh_database: str, tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="service name"):
        await migrate(fresh_database, 'x"; DROP TABLE y; --', tmp_path)


async def _migrate_in_process(dsn: str, service: str, files: Path) -> list[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        MIGRATE_SCRIPT,
        dsn,
        service,
        str(files),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    applied: list[str] = json.loads(out.decode().strip().splitlines()[-1])
    return applied


async def test_two_processes_migrating_concurrently_apply_each_file_once(
    fresh_database: str, services: ServiceNames, tmp_path: Path
) -> None:
    svc = services.new()
    files = write(
        tmp_path,
        {
            # The sleep keeps the first migrator busy while the second one arrives.
            "0001_counter.sql": "CREATE TABLE counter (n int); SELECT pg_sleep(0.5);",
            "0002_bump.sql": "INSERT INTO counter VALUES (1);",
            "0003_bump.sql": "INSERT INTO counter VALUES (2);",
        },
    )

    first, second = await asyncio.gather(
        _migrate_in_process(fresh_database, svc, files),
        _migrate_in_process(fresh_database, svc, files),
    )

    assert sorted(first + second) == [
        "0000_base",
        "0000_leader",
        "0001_counter",
        "0002_bump",
        "0003_bump",
    ]
    rows = await fetch(fresh_database, "SELECT n FROM counter ORDER BY n", schema=svc)
    assert [r["n"] for r in rows] == [1, 2]


async def test_same_service_migrates_concurrently_into_two_databases(
    fresh_database: str, services: ServiceNames, tmp_path: Path
) -> None:
    """The role is cluster-global while the advisory lock is per database: both must succeed."""
    svc = services.new()
    other = await _create_database(fresh_database)
    services.dsns.append(other)
    files = write(tmp_path, {"0001_things.sql": "CREATE TABLE things (id int);"})
    try:
        results = await asyncio.gather(
            _migrate_in_process(fresh_database, svc, files),
            _migrate_in_process(other, svc, files),
        )
        assert list(results) == [["0000_base", "0000_leader", "0001_things"]] * 2
    finally:
        await services_cleanup_database(services, fresh_database, other)


async def _create_database(dsn: str) -> str:
    name = f"{dsn.rpartition('/')[2]}_b"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return database_dsn(dsn, name)


async def services_cleanup_database(services: ServiceNames, admin: str, other: str) -> None:
    """Drop the extra database now (its roles' objects go with it)."""
    services.dsns.remove(other)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE "{other.rpartition("/")[2]}" WITH (FORCE)')
    finally:
        await conn.close()


async def test_service_role_cannot_touch_another_services_schema(
    fresh_database: str, services: ServiceNames, tmp_path: Path
) -> None:
    alpha, beta = services.new("alpha"), services.new("beta")
    for svc in (alpha, beta):
        files = write(tmp_path / svc, {"0001_t.sql": "CREATE TABLE things (id int);"})
        await migrate(fresh_database, svc, files, password="pw-" + svc)

    conn = await asyncpg.connect(dsn_as(fresh_database, role_name(alpha), "pw-" + alpha))
    try:
        # The role's default search_path is its schema: unqualified names are its own tables.
        await conn.execute("INSERT INTO things VALUES (1)")
        await conn.execute("INSERT INTO inbox (consumer, event_id) VALUES ('c', 'e')")
        assert await conn.fetchval("SELECT count(*) FROM things") == 1
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await conn.fetch(f"SELECT * FROM {beta}.things")  # noqa: S608
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await conn.execute(f"DELETE FROM {beta}.outbox")  # noqa: S608
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await conn.execute("CREATE TABLE public.sneaky (id int)")
    finally:
        await conn.close()


async def test_non_superuser_admin_with_createrole_can_migrate(
    fresh_database: str, services: ServiceNames, tmp_path: Path
) -> None:
    """Production admins are rarely superusers: CREATEROLE plus owning the database suffices."""
    admin = f"adm_{secrets.token_hex(4)}"
    database = fresh_database.rpartition("/")[2]
    conn = await asyncpg.connect(fresh_database)
    await conn.execute(f'CREATE ROLE "{admin}" LOGIN CREATEROLE')
    await conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{admin}"')
    svc = services.new()
    files = write(tmp_path, {"0001_things.sql": "CREATE TABLE things (id int);"})
    try:
        assert await migrate(dsn_as(fresh_database, admin), svc, files) == [
            "0000_base",
            "0000_leader",
            "0001_things",
        ]
        owners = await fetch(
            fresh_database, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = $1", svc
        )
        assert [r["tableowner"] for r in owners] == [role_name(svc)]
    finally:
        await conn.execute(f'ALTER DATABASE "{database}" OWNER TO CURRENT_USER')
        await conn.execute(f'DROP OWNED BY "{admin}"')
        await conn.execute(f'DROP ROLE "{admin}"')
        await conn.close()


async def test_as_admin_file_can_create_an_extension_the_role_may_not(
    fresh_database: str, services: ServiceNames, tmp_path: Path
) -> None:
    available = await fetch(
        fresh_database, "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"
    )
    if not available:
        pytest.skip("pg_trgm is not installed in this Postgres")
    svc = services.new()
    files = write(
        tmp_path,
        {
            "0001_trgm.sql": "-- soleflip: as-admin\nCREATE EXTENSION IF NOT EXISTS pg_trgm;",
            "0002_titles.sql": "CREATE TABLE titles (t text);"
            "CREATE INDEX titles_t ON titles USING gin (t gin_trgm_ops);",
        },
    )

    assert await migrate(fresh_database, svc, files) == [
        "0000_base",
        "0000_leader",
        "0001_trgm",
        "0002_titles",
    ]

    rows = await fetch(
        fresh_database,
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'",
    )
    assert [r["nspname"] for r in rows] == [svc]


async def test_the_service_role_itself_cannot_create_extensions(
    fresh_database: str, services: ServiceNames, tmp_path: Path
) -> None:
    if not await fetch(
        fresh_database, "SELECT 1 FROM pg_available_extensions WHERE name = 'citext'"
    ):
        pytest.skip("citext is not installed in this Postgres")
    svc = services.new()
    files = write(tmp_path, {"0001_citext.sql": "CREATE EXTENSION IF NOT EXISTS citext;"})

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await migrate(fresh_database, svc, files)
