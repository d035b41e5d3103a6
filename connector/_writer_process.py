"""The store side of a large sync in a child process, so reading and staging use two cores.

The writer thread (`_writer.py`) overlaps the WMS driver's waits with the store's, but hashing and
building the insert rows hold the GIL: on a backfill the reading thread and the writing one take
turns on one core. A backfill therefore hands its batches to a child Python instead, through a
pipe: the same contract, batch by batch, in read order, each batch with its cursor in ONE store
transaction (`sync.stage_batch`, run in the child). The child takes the store URL from the pipe
(never its command line: it may hold a password), opens its own engine without migrating (the
parent has), and answers each batch with its counts or its failure. After a failure it commits
nothing more (the batch's cursor would skip it). When the parent dies the pipe closes and the
child stops after the batch in hand, committed whole or not at all, like any batch. The child runs
in a session of its own (a terminal's Ctrl-C goes to the sync alone) and ignores SIGINT and SIGTERM
(`systemctl stop` signals every process of the unit): the sync decides. It is started before it is
needed (`GrowingWriter`): it imports and opens the store while the sync's thread still stages.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections import Counter

from connector._writer import Writer
from connector.model import Batch

DONE, READY = None, "ready"
PIPE_BYTES = 1 << 20  # Linux's default pipe-max-size; a 10,000-row batch pickles to about 750 KB


class ChildFailed(RuntimeError):
    """The child's error, when it could not travel back as itself."""


class ChildUnavailable(OSError):
    """The child did not start or could not open the store: the sync stays on its writer thread."""


class ProcessBatchWriter(Writer):
    """`put(batch)` hands a batch to the child; `close()` waits until the child committed them all."""

    def __init__(self, store_url: str, busy_timeout: int, name: str, save: bool, clock):
        """Starts the child and hands it its setup; it imports and opens the store meanwhile."""
        self.clock, self.counts = clock, Counter()
        self.error: BaseException | None = None
        self._child = subprocess.Popen([sys.executable, "-m", "connector._writer_process"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, env=_child_env(), close_fds=True,
                                       start_new_session=True)  # a terminal's Ctrl-C is the sync's to handle
        _widen(self._child.stdin)
        self._answers: threading.Thread | None = None
        try:
            pickle.dump({"url": store_url, "busy_timeout": busy_timeout, "name": name, "save": save},
                        self._child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._child.stdin.flush()
        except OSError as exc:  # the child died at once
            self._stop()
            raise ChildUnavailable(f"the staging child did not start: {exc}") from None

    def ready(self) -> None:
        """Wait until the child has opened the store (ChildUnavailable when it could not)."""
        if self._answers is not None:
            return
        try:
            answer = pickle.load(self._child.stdout)
        except (OSError, EOFError, pickle.UnpicklingError):
            answer = None
        if answer != READY:
            self._stop()
            raise ChildUnavailable(f"the staging child did not start: {answer or 'no answer'}")
        self._answers = threading.Thread(target=self._read_answers, name="sync-writer-answers", daemon=True)
        self._answers.start()

    def _stop(self) -> None:
        """A child never handed a batch: stopped, reaped, its pipes closed (once)."""
        if self._child.returncode is None:
            self._child.kill()
            self._child.communicate()

    def put(self, batch: Batch) -> None:
        self.ready()
        self._raise()
        self._send((batch, self.clock.now()))

    def close(self) -> Counter:
        """Commit what was handed over, stop the child, raise its failure if it had one."""
        self._finish()
        self._raise()
        return self.counts

    def _send(self, message) -> None:
        try:
            pickle.dump(message, self._child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._child.stdin.flush()
        except BrokenPipeError:  # the child is gone: its answers say why
            self._finish()
            self._raise()
            raise ChildFailed("the staging child exited without an answer") from None

    def _finish(self) -> None:
        if self._answers is None:  # never ready, never handed a batch: nothing to commit
            self._stop()
            return
        try:
            if not self._child.stdin.closed:
                pickle.dump(DONE, self._child.stdin)
                self._child.stdin.close()
        except BrokenPipeError:
            pass
        self._answers.join()
        self._child.stdout.close()
        if self._child.wait() != 0 and self.error is None:
            self.error = ChildFailed(f"the staging child exited with status {self._child.returncode}")

    def _read_answers(self) -> None:
        while True:
            try:
                answer = pickle.load(self._child.stdout)
            except (EOFError, pickle.UnpicklingError):
                return
            if isinstance(answer, BaseException):
                self.error = answer
            else:
                self.counts.update(answer)

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def abandon(self) -> None:
        self._finish()


def _widen(pipe) -> None:
    """A pipe that holds a whole batch: the reader hands batch n + 1 over and goes on reading n + 2
    while the child still stages n (a 64 KiB pipe kept it waiting until the child was done)."""
    try:
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (OSError, AttributeError):  # above pipe-max-size, or not Linux: the default size, less overlap
        pass


def _child_env() -> dict[str, str]:
    """The parent's import path, so the child finds the connector wherever the parent did."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}


def serve(incoming, outgoing) -> None:
    """The child: stage each batch as it arrives, answer its counts; after a failure, drain."""
    from connector import sync
    from connector._gc import collect_young, collector_paused
    from connector.store.engine import Store, build_engine

    setup = pickle.load(incoming)
    store = Store(build_engine(setup["url"], busy_timeout=setup["busy_timeout"]))
    try:
        with store.read() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001 (the parent stays on its thread and says why)
        _answer(outgoing, f"{type(exc).__name__}: {exc}")
        return
    _answer(outgoing, READY)
    stage, failed = sync.batch_stager(store, setup["name"], setup["save"]), False
    with collector_paused():
        while (message := pickle.load(incoming)) is not DONE:
            if failed:
                continue
            batch, now = message
            try:
                answer = stage(batch, now)
            except Exception as exc:  # noqa: BLE001 (handed to the parent, which raises it)
                answer, failed = _portable(exc), True
            _answer(outgoing, answer)
            collect_young(sync.YOUNG_LIMIT)
    store.close()


def _answer(outgoing, answer) -> None:
    pickle.dump(answer, outgoing, protocol=pickle.HIGHEST_PROTOCOL)
    outgoing.flush()


def _portable(exc: Exception) -> BaseException:
    try:
        return pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001
        return ChildFailed(f"{type(exc).__name__}: {exc}")


def _main() -> None:
    """systemd's stop signal reaches every process of the unit: the parent decides (it closes the
    pipe, and the child commits what it was handed over, then exits)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer)
    except EOFError:  # the parent died mid-message: nothing of that batch was staged
        sys.exit(3)


if __name__ == "__main__":
    _main()

