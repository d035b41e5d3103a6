"""The store side of a sync, in a thread of its own, so reading the WMS and writing the store overlap.

The sync's thread reads and decodes batch n + 1 (the database driver releases the GIL while it
waits on the network) while this thread hashes and stages batch n (SQLite releases it while it
steps the insert). The contract is unchanged: batches are committed one at a time, in the order they were
read, each with the cursor that covers exactly its rows in ONE store transaction, so a kill at any
point loses nothing and repeats nothing — a batch read but not yet committed has not moved the
stored cursor either, and is read again on the next run. At most `depth` batches wait in between
(memory stays bounded by a few batches). The first failure of a store transaction stops the
writer; the reader sees it on its next `put` or when the writer is closed.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable

from connector.model import Batch

DONE = object()


class Writer:
    """What the sync holds: `put(batch)`, `close()` (commit all, raise a failure), `abandon()` (the
    reader failed: commit what was handed over, raise nothing, so the reader's error goes on)."""

    counts: Counter

    def ready(self) -> None:
        """Wait until the writer can take batches (a child process that is still starting)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()


class BatchWriter(Writer):
    """`put(batch)` hands a batch over; `close()` waits until every batch handed over is committed."""

    def __init__(self, stage: Callable[[Batch], Counter], depth: int = 1):
        self.stage, self.counts = stage, Counter()
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="sync-writer", daemon=True)
        self._thread.start()

    def put(self, batch: Batch) -> None:
        self._raise()
        self._queue.put(batch)

    def close(self) -> Counter:
        """Commit what was handed over, stop the thread, raise its failure if it had one."""
        self._queue.put(DONE)
        self._thread.join()
        self._raise()
        return self.counts

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while (batch := self._queue.get()) is not DONE:
            if self.error is not None:
                continue  # drain: nothing after a failed batch may be committed (its cursor would skip it)
            try:
                self.counts.update(self.stage(batch))
            except BaseException as exc:  # handed to the reader thread, which raises it
                self.error = exc

    def abandon(self) -> None:
        self._queue.put(DONE)
        self._thread.join()


class GrowingWriter(Writer):
    """The writer thread first; once a run has handed over `threshold` rows and the source has more
    (a backfill), the rest goes to a child process (`spawn`, `_writer_process.py`), so hashing and
    inserting no longer take turns with decoding on one core. The child is started at half the
    threshold, so it imports and opens the store while the thread still stages. The thread commits
    what it holds before the child takes over: the order of the batches is kept. A child that
    cannot start (`spawn` or its `ready()` raises OSError, or there is no `spawn`: an in-memory
    store) leaves the thread on; one started for a run that then ends is stopped unused."""

    def __init__(self, stage: Callable[[Batch], Counter], spawn: Callable[[], Writer] | None, threshold: int,
                 on_fallback: Callable[[OSError], None] = lambda exc: None):
        self.stage, self.spawn, self.threshold, self.on_fallback = stage, spawn, threshold, on_fallback
        self.current, self.rows, self.counts = BatchWriter(stage), 0, Counter()
        self.pending: Writer | None = None

    def put(self, batch: Batch) -> None:
        self.current.put(batch)
        self.rows += len(batch.movements) + len(batch.errors)
        if self.spawn is None or batch.exhausted:
            return
        if self.pending is None and self.rows >= self.threshold // 2:
            self.pending = self._start()
        if self.pending is not None and self.rows >= self.threshold:
            self._switch()

    def _start(self) -> Writer | None:
        try:
            return self.spawn()
        except OSError as exc:
            self._no_child(exc)
            return None

    def _switch(self) -> None:
        self.counts.update(self.current.close())
        child, self.pending, self.spawn = self.pending, None, None
        try:
            child.ready()
        except OSError as exc:
            self._no_child(exc)
            child = BatchWriter(self.stage)
        self.current = child

    def _no_child(self, exc: OSError) -> None:
        self.on_fallback(exc)
        self.spawn = None

    def close(self) -> Counter:
        self._abandon_pending()
        self.counts.update(self.current.close())
        return self.counts

    def abandon(self) -> None:
        self._abandon_pending()
        self.current.abandon()

    def _abandon_pending(self) -> None:
        if self.pending is not None:
            self.pending.abandon()
            self.pending = None
