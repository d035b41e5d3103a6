"""A progress bar for a sync on a terminal: rows, rows/s and, when the source can count, a bar.

Only when stderr is a terminal (a daemon or a pipe gets nothing: the run log has the counts). The
line is redrawn at most twice a second, so a backfill of millions of rows pays nothing for it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from connector.errors import SourceError

WIDTH = 30


class Progress:
    """`start(cursor)` when the sync knows where it starts; `progress(n)` after each batch of n rows;
    `close()` ends the line. `count(cursor)`: how many rows the source has after a cursor, if known."""

    def __init__(self, name: str, total: int | None, stream: TextIO, every: float = 0.5,
                 count: Callable[[Any], int | None] | None = None):
        self.name, self.total, self.stream, self.every, self.count = name, total, stream, every, count
        self.rows, self.started, self.drawn = 0, time.monotonic(), 0.0

    def start(self, cursor: Any) -> None:
        """The total is what is left to read from where this run starts (a resumed backfill: the rows
        after the stored cursor, not the whole table)."""
        if self.count is not None:
            try:
                self.total = self.count(cursor)
            except SourceError:  # a count is a nicety: the sync itself reports any real problem
                self.total = None
        self.started = time.monotonic()

    def __call__(self, rows: int) -> None:
        self.rows += rows
        now = time.monotonic()
        if now - self.drawn >= self.every:
            self.drawn = now
            self.stream.write("\r" + self.line(now))
            self.stream.flush()

    def line(self, now: float) -> str:
        rate = self.rows / max(now - self.started, 1e-9)
        text = f"source {self.name}: {self.rows:,} rows  {rate:,.0f} rows/s"
        if self.total:
            done = min(self.rows / self.total, 1.0)
            text = f"[{'#' * int(done * WIDTH):<{WIDTH}}] {done:4.0%} " + text + f" of {self.total:,} left to read"
        return text

    def close(self) -> None:
        self.stream.write("\r" + self.line(time.monotonic()) + "\n")
        self.stream.flush()


def for_terminal(name: str, adapter: Any, stream: TextIO | None = None) -> Progress | None:
    """A Progress when `stream` (stderr) is a terminal, else None. Its total is the adapter's count
    of rows after the cursor the sync starts from (`count_pending(cursor)`), when it has one."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    return Progress(name, None, stream, count=getattr(adapter, "count_pending", None))
