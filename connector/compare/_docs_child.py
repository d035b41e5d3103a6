"""The full rebuild's C2/C8 documents evaluated in a child process, beside the other rules.

After the screen, the documents it could not clear are loaded and compared (units.documents): on
the 1M-entry bench a third of the rebuild, all in Python, while one core idled once the screen's
queries were done. A child Python does it instead, while this process runs C1, C3, C4 and C5-C9.
It is started with the rebuild (its imports overlap the screen's queries), handed the screened
documents as soon as they are known, and answers with the findings and the ids held back in flight.

It reads the store on its own read-only connection, the same committed state as the rebuild: the
rebuild holds the write lock (no sync commits meanwhile), and documents are read from the entries
and the 核注清单 only, never from the derived tables the rebuild is rewriting. Used for SQLite store
files of some size only (screen.store_file); when no child starts, the rebuild evaluates the
documents itself: slower, the same findings.
"""

from __future__ import annotations

import pickle
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from connector._writer_process import child_env
from connector.compare import load, screen, units

Findings = tuple[list, dict]  # Outcome.found, Outcome.held


class DocsChild:
    """One child, one batch of documents: `submit` hands them over, its result waits for the answer."""

    def __init__(self, path: str):
        self.path = path
        self._child = subprocess.Popen([sys.executable, "-m", "connector.compare._docs_child"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(), close_fds=True)

    def submit(self, docs: dict, moved_docs: set[str], settings, now) -> Callable[[], Findings] | None:
        """Hand the documents over; None when the child is gone (the caller evaluates them itself)."""
        try:
            pickle.dump((self.path, docs, moved_docs, settings, now), self._child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._child.stdin.close()
        except OSError:
            self.close()
            return None
        return self._findings

    def _findings(self) -> Findings:
        try:
            status, payload = pickle.load(self._child.stdout)
        except (EOFError, pickle.UnpicklingError):
            status, payload = "error", self._last_words()
        self.close()
        if status != "ok":
            raise sqlite3.OperationalError(f"comparator documents failed in their child process: {payload}")
        return payload

    def _last_words(self) -> str:
        lines = self._child.stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else f"exit status {self._child.wait()}"

    def close(self) -> None:
        """Stopped if still running, reaped, pipes closed (also after an error, and more than once)."""
        if self._child.returncode is None:
            self._child.kill()
            self._child.wait()
        for pipe in (self._child.stdin, self._child.stdout, self._child.stderr):
            pipe.close()


@contextmanager
def started(conn: Connection) -> Iterator[DocsChild | None]:
    """A child for the rebuild on this connection's store (None: too small, not a file, no child)."""
    path = screen.store_file(conn)
    try:
        child = DocsChild(path) if path else None
    except OSError:
        child = None
    try:
        yield child
    finally:
        if child is not None:
            child.close()


def evaluate(path: str, docs: dict, moved_docs: set[str], settings, now) -> Findings:
    """The child's work: `units.documents` on a read-only connection to the store file."""
    engine = create_engine("sqlite://", poolclass=NullPool, creator=lambda: sqlite3.connect(
        f"file:{path}?mode=ro", uri=True, timeout=30, isolation_level=None))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN")  # one snapshot for every query
            load.want(conn, docs)
            out = units.Outcome()
            units.documents(conn, out, set(docs), settings, now, None, docs, moved_docs)
            conn.exec_driver_sql("ROLLBACK")
    finally:
        engine.dispose()
    return out.found, out.held


def main() -> None:
    from connector._gc import collector_paused

    job = pickle.load(sys.stdin.buffer)
    with collector_paused():  # as in the rebuild: many objects, no cycles
        try:
            reply = ("ok", evaluate(*job))
        except Exception as exc:  # noqa: BLE001 (reported to the parent, which raises it)
            reply = ("error", f"{type(exc).__name__}: {exc}")
    pickle.dump(reply, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main()
