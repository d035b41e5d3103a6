"""A progress bar for a sync on a terminal: rows, rows/s and, when the source can count, a bar.

Only when stderr is a terminal (a daemon or a pipe gets nothing: the run log has the counts). The
line is redrawn at most twice a second, so a backfill of millions of rows pays nothing for it.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from connector.errors import SourceError

WIDTH = 30


class Progress:
    """`progress(n)` after each batch of n rows; `close()` ends the line."""

    def __init__(self, name: str, total: int | None, stream: TextIO, every: float = 0.5):
        self.name, self.total, self.stream, self.every = name, total, stream, every
        self.rows, self.started, self.drawn = 0, time.monotonic(), 0.0

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
            text = f"[{'#' * int(done * WIDTH):<{WIDTH}}] {done:4.0%} " + text + f" of {self.total:,} in the source"
        return text

    def close(self) -> None:
        self.stream.write("\r" + self.line(time.monotonic()) + "\n")
        self.stream.flush()


def for_terminal(name: str, adapter: Any, stream: TextIO | None = None) -> Progress | None:
    """A Progress when `stream` (stderr) is a terminal, else None. The total is the adapter's
    count of rows after its stored cursor, when it can give one cheaply (`count_pending`)."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    total = None
    count = getattr(adapter, "count_pending", None)
    if count is not None:
        try:
            total = count()
        except SourceError:  # a count is a nicety: the sync itself reports any real problem
            total = None
    return Progress(name, total, stream)
