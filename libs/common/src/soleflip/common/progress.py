"""Progress of a long command on stderr: a tqdm bar on a terminal, a plain line every few seconds
otherwise (a log file or CI output gets no carriage-return redraws).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO

from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs shipped

#: How often the plain line is written when stderr is not a terminal.
PLAIN_EVERY_S = 10.0


class Progress(Protocol):
    """What commands use of a progress bar (tqdm's names)."""

    n: int

    def update(self, n: int = 1) -> Any: ...
    def close(self) -> None: ...
    def __enter__(self) -> Progress: ...
    def __exit__(self, *exc: object) -> Any: ...


class PlainProgress:
    """`desc: n/total unit` lines, at most one per `every` seconds, and a last one on close."""

    def __init__(
        self,
        desc: str,
        *,
        total: int | None = None,
        unit: str = "it",
        stream: TextIO | None = None,
        every: float = PLAIN_EVERY_S,
        clock: Any = time.monotonic,
    ) -> None:
        self.n = 0
        self.total = total
        self._desc, self._unit, self._every, self._clock = desc, unit, every, clock
        self._stream = stream or sys.stderr
        self._started = self._last = clock()
        self._closed = False

    def update(self, n: int = 1) -> None:
        self.n += n
        if self._clock() - self._last >= self._every:
            self._write()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._write()

    def _write(self) -> None:
        self._last = self._clock()
        of = f"/{self.total}" if self.total is not None else ""
        elapsed = self._last - self._started
        print(f"{self._desc}: {self.n}{of} {self._unit} ({elapsed:.0f} s)", file=self._stream)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(
    desc: str, *, total: int | None = None, unit: str = "it", disable: bool = False
) -> Progress:
    """A tqdm bar when stderr is a terminal, else a `PlainProgress` (silent when `disable`)."""
    if disable or sys.stderr.isatty():
        bar: Progress = tqdm(desc=desc, total=total, unit=unit, disable=disable, file=sys.stderr)
        return bar
    return PlainProgress(desc, total=total, unit=unit)
