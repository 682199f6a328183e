"""The test plugin's DSN handling."""

from __future__ import annotations

from soleflip.common.testing.plugin import database_dsn


def test_database_dsn_replaces_only_the_database() -> None:
    dsn = "postgresql://user:p%40ss@db.example:6543/postgres?sslmode=require&application_name=x"
    assert database_dsn(dsn, "soleflip_t_1") == (
        "postgresql://user:p%40ss@db.example:6543/soleflip_t_1?sslmode=require&application_name=x"
    )


def test_database_dsn_adds_a_database_to_a_dsn_without_one() -> None:
    assert database_dsn("postgres://pg@127.0.0.1:5433", "db") == "postgres://pg@127.0.0.1:5433/db"
