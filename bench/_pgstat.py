"""Postgres CPU per statement for the benches, without pg_stat_statements (not preloaded here).

`StatementMeter` wraps asyncpg's query methods in this process and charges each call the CPU its
backend spent meanwhile (`/proc/<pid>/schedstat`, nanoseconds; the server must run on this
machine). A backend runs one statement at a time and sleeps between them, so the delta over a
call is that statement's cost (parse, plan, execute, triggers; COMMIT's for `COMMIT`). Statements
are named by the `*_SQL` constants of the modules given, else by their first words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg

_METHODS = ("execute", "executemany", "fetch", "fetchval", "fetchrow", "copy_records_to_table")


def _backend_ns(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _names(modules: Iterable[ModuleType]) -> dict[str, str]:
    return {
        value: name.removesuffix("_SQL").lower()
        for module in modules
        for name, value in vars(module).items()
        if name.endswith("_SQL") and isinstance(value, str)
    }


class StatementMeter:
    """Backend CPU and calls per statement name while `measuring()` is open."""

    def __init__(self, modules: Iterable[ModuleType], *, ignore: Iterable[str] = ()) -> None:
        self._names = _names(modules)
        self._ignore = set(ignore)
        self._busy: set[int] = set()
        self.ns: dict[str, int] = {}
        self.calls: dict[str, int] = {}

    def _label(self, method: str, args: tuple[Any, ...]) -> str:
        if method == "copy_records_to_table":
            return f"copy {args[0]}"
        query = args[0] if args and isinstance(args[0], str) else ""
        if query in self._names:
            return self._names[query]
        return " ".join(re.sub(r"\s+", " ", query).split(" ")[:3]).lower() or method

    def _wrap(self, method: str, original: Callable[..., Any]) -> Callable[..., Any]:
        meter = self

        @functools.wraps(original)
        async def wrapper(conn: asyncpg.Connection, *args: Any, **kwargs: Any) -> Any:
            # A method calling another is counted once (asyncpg connections take no attributes).
            if id(conn) in meter._busy or (args and args[0] in meter._ignore):
                return await original(conn, *args, **kwargs)
            meter._busy.add(id(conn))
            pid = conn.get_server_pid()
            before = _backend_ns(pid)
            try:
                return await original(conn, *args, **kwargs)
            finally:
                meter._busy.discard(id(conn))
                after = _backend_ns(pid)
                if before is not None and after is not None:
                    label = meter._label(method, args)
                    meter.ns[label] = meter.ns.get(label, 0) + after - before
                    meter.calls[label] = meter.calls.get(label, 0) + 1

        return wrapper

    @contextmanager
    def measuring(self) -> Iterator[None]:
        originals = {m: getattr(asyncpg.Connection, m) for m in _METHODS}
        for method, original in originals.items():
            setattr(asyncpg.Connection, method, self._wrap(method, original))
        try:
            yield
        finally:
            for method, original in originals.items():
                setattr(asyncpg.Connection, method, original)

    def report(self, events: int) -> dict[str, Any]:
        """µs of backend CPU per event and calls per statement, costliest first."""
        total = sum(self.ns.values())
        rows = sorted(self.ns.items(), key=lambda kv: -kv[1])
        return {
            "total_us_per_event": round(total / events / 1e3, 1),
            "statements": {
                label: {"us_per_event": round(ns / events / 1e3, 2), "calls": self.calls[label]}
                for label, ns in rows
            },
        }
