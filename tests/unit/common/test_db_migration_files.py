"""Migration files: discovery, order, checksums, the as-admin mark, name rules (no database)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from soleflip.common.db import MigrationError, library_migrations, load_migrations, migrate


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


def test_only_numbered_sql_files_are_loaded_in_name_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "0010_late.sql": "SELECT 10;",
            "0002_early.sql": "SELECT 2;",
            "README.md": "notes",
            "2_bad.sql": "SELECT 0;",
            "0003_draft.sql.bak": "SELECT 3;",
        },
    )

    migrations = load_migrations(tmp_path)

    assert [m.name for m in migrations] == ["0002_early", "0010_late"]
    assert migrations[0].checksum == hashlib.sha256(b"SELECT 2;").hexdigest()


def test_as_admin_mark_must_be_the_first_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "0001_ext.sql": "\n--  Soleflip: AS-ADMIN\nCREATE EXTENSION citext;",
            "0002_later.sql": "SELECT 1;\n-- soleflip: as-admin\n",
        },
    )

    assert [m.as_admin for m in load_migrations(tmp_path)] == [True, False]


def test_library_migrations_ship_with_the_package() -> None:
    base = library_migrations()

    assert [m.name for m in base] == ["0000_base", "0000_leader"]
    assert "CREATE TABLE outbox" in base[0].sql
    assert not base[0].as_admin


async def test_a_file_reusing_a_library_name_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"0000_base.sql": "SELECT 1;"})

    with pytest.raises(MigrationError, match="0000_base"):
        await migrate("postgresql://unused", "orders", tmp_path)


@pytest.mark.parametrize("service", ["", "Orders", "1orders", "or-ders", 'x"y', "a" * 42])
async def test_invalid_service_names_are_refused_before_connecting(
    tmp_path: Path, service: str
) -> None:
    with pytest.raises(MigrationError, match="service name"):
        await migrate("postgresql://unused", service, tmp_path)
