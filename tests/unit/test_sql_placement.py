"""One SQL convention: in every service, write SQL lives in `repository`, read SQL in `queries`
(a module or a package of private modules), and nothing else holds a SQL statement or reaches
for a `*_SQL` constant. In the library, SQL lives in the `db` package, plus the two places that
manage Postgres servers themselves (`localinfra`, the test plugin in `testing`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted((ROOT / "services").glob("*/src/soleflip/*"))
LIBRARY = ROOT / "libs" / "common" / "src" / "soleflip" / "common"
LIBRARY_SQL_HOMES = ("db", "localinfra", "testing")

# A statement, not prose: keywords in SQL's capitals, in the order a statement has them.
STATEMENT = re.compile(
    r"^\s*(?:SELECT\s.+|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s|WITH\s+\w+\s+AS\s*\("
    r"|(?:CREATE|ALTER|DROP)\s+(?:TABLE|INDEX|SCHEMA|ROLE|DATABASE|EXTENSION|VIEW)\s)",
    re.DOTALL,
)
SQL_CONSTANT = re.compile(r"^_?[A-Z0-9_]*_SQL$")


def _where(path: Path) -> str:
    return "/".join(path.parts[-3:])


def _docstrings(tree: ast.Module) -> set[int]:
    nodes = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    return {
        id(n.body[0].value)
        for n in nodes
        if n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)
    }


def sql_in(path: Path) -> list[str]:
    """Where `path` holds a SQL statement or names a `*_SQL` constant (`file:line what`)."""
    tree = ast.parse(path.read_text())
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        text = node.value if isinstance(node, ast.Constant) else None
        if isinstance(text, str) and id(node) not in docs and STATEMENT.match(text):
            found.append(f"{_where(path)}:{node.lineno} statement")
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        if isinstance(node, ast.alias):
            name = node.asname or node.name
        if isinstance(name, str) and SQL_CONSTANT.match(name):
            found.append(f"{_where(path)}:{getattr(node, 'lineno', 0)} {name}")
    return found


def _is_sql_home(package: Path, path: Path) -> bool:
    first = path.relative_to(package).parts[0]
    return first in ("repository.py", "queries.py", "repository", "queries")


def test_services_keep_sql_in_repository_and_queries() -> None:
    assert len(SERVICES) == 5, SERVICES  # catalog, console, ingest, orders, pricing
    misplaced = [
        hit
        for package in SERVICES
        for path in sorted(package.rglob("*.py"))
        if not _is_sql_home(package, path)
        for hit in sql_in(path)
    ]
    assert misplaced == []


def test_the_library_keeps_sql_in_its_db_package() -> None:
    misplaced = [
        hit
        for path in sorted(LIBRARY.rglob("*.py"))
        if path.relative_to(LIBRARY).parts[0] not in LIBRARY_SQL_HOMES
        for hit in sql_in(path)
    ]
    assert misplaced == []


def test_the_check_sees_statements_and_constants(tmp_path: Path) -> None:
    module = tmp_path / "handlers.py"
    module.write_text(
        '"""SELECT in a docstring is prose."""\n'
        "from soleflip.x.queries import LISTING_SQL\n"
        "QUERY = 'SELECT 1 FROM listing WHERE id = $1'\n"
        "TEXT = 'Update the listing set'\n"
        "async def f(conn):\n"
        "    return await conn.fetch(LISTING_SQL)\n"
    )
    hits = sorted(hit.rsplit(":", 1)[1] for hit in sql_in(module))
    assert hits == ["2 LISTING_SQL", "3 statement", "6 LISTING_SQL"]
