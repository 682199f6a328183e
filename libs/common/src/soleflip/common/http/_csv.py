"""CSV exports of REST lists: chosen by `?format=csv` or `Accept: text/csv`, streamed chunk by
chunk (keyset pages), so an export of any size holds one chunk in memory.

Cells are plain text: decimals without exponent, RFC 3339 UTC times, `true`/`false`, empty for
null. A text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is
prefixed with `'` (OWASP's CSV injection advice); numbers are never changed.

Large exports can have Postgres render the lines (`copy_csv_stream`: `COPY (SELECT ...) TO STDOUT
WITH CSV`, cells built by `sql_cell` to the same rules): no Python work per row. Their lines
end in LF (COPY cannot write CRLF), and so do `csv_lines`, which CSV readers accept as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

import msgspec
from litestar import Request
from litestar.response import Stream
from litestar.response.base import ASGIResponse

from soleflip.common.errors import InvalidInput

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Rows per keyset page of an export: big enough for few round trips, small enough to stay flat.
EXPORT_CHUNK = 2_000

K = TypeVar("K")
Row = Sequence[Any]


class CsvStream(Stream):
    """A streamed `text/csv` (or NDJSON) body from a handler that otherwise answers JSON
    (`Page | Stream`).

    Litestar passes the handler's media type (JSON for such a union) to the response, and its
    `Stream` lets that win over its own, contrary to its docstring; a body must say its type.
    """

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        kwargs["media_type"] = self.media_type
        return super().to_asgi_response(*args, **kwargs)


def wants_csv(request: Request[Any, Any, Any], format_: str | None) -> bool:
    """`format=csv|json` wins; otherwise CSV only when Accept prefers `text/csv` to JSON."""
    if format_ is not None:
        if format_ not in ("csv", "json"):
            raise InvalidInput(
                "invalid format: must be csv or json",
                errors=[{"field": "format", "message": "csv or json", "source": "query"}],
            )
        return format_ == "csv"
    best = request.accept.best_match(["application/json", "text/csv"], default="application/json")
    return best == "text/csv"


def csv_cell(value: object) -> str:
    """One value as CSV text (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, int | float | date):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_lines(rows: Sequence[Row]) -> bytes:
    """`rows` as CSV lines, UTF-8, ending in LF like the lines Postgres' COPY renders, so every
    export of every service ends its lines the same way. The writer keeps its CRLF terminator
    (so a cell holding a CR is quoted, as COPY quotes it) and each line's CRLF becomes LF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        buffer.seek(buffer.tell() - 2)
        buffer.write("\n")
        buffer.truncate()
    return buffer.getvalue().encode()


async def keyset_chunks(
    fetch: Callable[[K | None, int], Awaitable[Sequence[Any]]],
    key_of: Callable[[Any], K],
    *,
    size: int = EXPORT_CHUNK,
) -> AsyncIterator[Sequence[Any]]:
    """Every page of a keyset-paginated query: `fetch(after, limit)` until a short page."""
    after: K | None = None
    while True:
        rows = await fetch(after, size)
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = key_of(rows[-1])


async def csv_stream(
    header: Sequence[str],
    chunks: AsyncIterator[Sequence[Row]],
    *,
    filename: str,
) -> Stream:
    """A streamed CSV download: the header, then each chunk's rows as it arrives. The first
    chunk is read before answering, so a refused query or an outage is still a problem+json."""
    first: Sequence[Row] = await anext(chunks, [])

    async def body() -> AsyncIterator[bytes]:
        yield csv_lines([header, *first])
        async for rows in chunks:
            yield csv_lines(rows)

    return CsvStream(
        body(),
        media_type=CSV_MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


#: How `sql_cell` renders a column: text (formula-guarded), number, time, boolean.
CellKind = Literal["text", "number", "time", "bool"]
_SQL_ESCAPES = {"\t": "E'\\t'", "\r": "E'\\r'"}
_SQL_FORMULA = ", ".join(_SQL_ESCAPES.get(c, f"'{c}'") for c in FORMULA_START)
_QUOTE = "''''"  # SQL for the text '


def sql_cell(expr: str, kind: CellKind) -> str:
    """SQL rendering the value of `expr` as `csv_cell` renders it (NULL: an empty field)."""
    if kind == "number":  # numeric's and integers' text has no exponent
        return expr
    if kind == "bool":
        return f"CASE WHEN {expr} THEN 'true' WHEN NOT {expr} THEN 'false' END"
    if kind == "time":  # as isoformat(): microseconds only when there are some
        utc = f"({expr} AT TIME ZONE 'UTC')"
        return (
            f"""to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS')"""
            f" || CASE WHEN extract(microseconds FROM {utc}) % 1000000 = 0 THEN ''"
            f" ELSE to_char({utc}, '.US') END || 'Z'"
        )
    return (
        f"CASE WHEN left({expr}, 1) IN ({_SQL_FORMULA}) THEN {_QUOTE} || {expr}"
        f" ELSE nullif({expr}, '') END"
    )


#: Runs a COPY ... TO STDOUT, handing each chunk of its output to the given coroutine.
CopyOut = Callable[[Callable[[bytes], Coroutine[Any, Any, None]]], Awaitable[Any]]


async def copy_csv_stream(
    header: Sequence[str], copy: CopyOut, *, filename: str, buffered: int = 8
) -> Stream:
    """A streamed CSV download whose lines Postgres renders: `copy(output)` runs a `COPY ...
    TO STDOUT WITH (FORMAT csv)` that hands each chunk to `output`. At most `buffered` chunks
    wait for the client (a slow one slows the COPY: memory stays flat). The first chunk is read
    before answering, so a refused query or an outage is still a problem+json."""
    queue: asyncio.Queue[bytes | Exception | None] = asyncio.Queue(maxsize=buffered)

    async def put(chunk: bytes) -> None:  # asyncpg hands out buffers it reuses
        await queue.put(bytes(chunk))

    async def produce() -> None:
        try:
            await copy(put)
        except Exception as exc:  # handed to the reader, which raises it
            await queue.put(exc)
            return
        await queue.put(None)

    task = asyncio.create_task(produce())
    first = await queue.get()
    if isinstance(first, Exception):
        await task
        raise first

    async def body() -> AsyncIterator[bytes]:
        try:
            yield (",".join(header) + "\n").encode() + (first or b"")
            if first is None:
                return
            while (chunk := await queue.get()) is not None:
                if isinstance(chunk, Exception):
                    raise chunk
                yield chunk
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return CsvStream(
        body(),
        media_type=CSV_MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


NDJSON_MEDIA_TYPE = "application/x-ndjson"
_ndjson = msgspec.json.Encoder(decimal_format="string")


def wants_ndjson(request: Request[Any, Any, Any]) -> bool:
    """The client asked for a stream of JSON lines (`Accept: application/x-ndjson`)."""
    return NDJSON_MEDIA_TYPE in request.headers.get("accept", "")


async def ndjson_stream(items: AsyncIterator[Any]) -> Stream:
    """A streamed answer of one JSON document per line, each sent as it is made (progress of a
    long request). As for CSV, the first item is made before answering, so a refusal or an
    outage before it is still a problem+json; later the producer reports failures in a line."""
    first = await anext(items, None)

    async def body() -> AsyncIterator[bytes]:
        if first is not None:
            yield _ndjson.encode(first) + b"\n"
        async for item in items:
            yield _ndjson.encode(item) + b"\n"

    return CsvStream(body(), media_type=NDJSON_MEDIA_TYPE)
