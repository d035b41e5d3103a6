"""A backfill's store side in a child process: same rows and order, failures stop it, no secret in its argv."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from connector import _writer_process, sync
from connector.store.tables import movements, source_cursors
from tests.support.wms import clock, log, make_source, store, wms  # noqa: F401
from tests.test_sync import cursor_of


class Spawned:
    """Records every staging child the sync starts (the real one runs)."""

    def __init__(self) -> None:
        self.children: list[_writer_process.ProcessBatchWriter] = []

    def __call__(self, *args, **kwargs):
        self.children.append(_writer_process.ProcessBatchWriter(*args, **kwargs))
        return self.children[-1]


@pytest.fixture
def spawned(monkeypatch) -> Spawned:
    recorder = Spawned()
    monkeypatch.setattr(sync, "ProcessBatchWriter", recorder)
    monkeypatch.setattr(sync, "PROCESS_MIN_ROWS", 20)
    return recorder


def rows_of(store) -> list[tuple]:  # noqa: F811
    with store.read() as conn:
        return [tuple(r) for r in conn.execute(select(movements).order_by(movements.c.id))]


def add_rows(wms, n):  # noqa: F811
    for i in range(n):
        wms.add(f"L{i}", changed_at=f"2025-03-01 09:{i // 60:02d}:{i % 60:02d}", qty=str(i + 1))


def backfill(store, wms, make_source, clock, log, n=95, batch_size=10):  # noqa: F811
    add_rows(wms, n)
    return sync.sync_source(store, "wms", make_source(wms), clock=clock, log=log, batch_size=batch_size)


def test_a_run_past_the_threshold_stages_the_rest_in_a_child_with_the_rows_the_thread_writes(
        any_store, tmp_path, wms, make_source, clock, log, spawned, monkeypatch):  # noqa: F811
    from connector.store.engine import Store

    counts = backfill(any_store, wms, make_source, clock, log)
    assert len(spawned.children) == 1 and spawned.children[0]._child.returncode == 0
    assert counts == {"read": 95, "new": 95, "quarantined_by_reason": {}}
    monkeypatch.setattr(sync, "PROCESS_MIN_ROWS", 10**9)
    threaded = Store.open(f"sqlite:///{tmp_path / 'threaded.db'}")
    try:
        backfill(threaded, wms, make_source, clock, log, n=0)
        assert len(spawned.children) == 1  # this run stayed on the thread
        assert [r[1:] for r in rows_of(any_store)] == [r[1:] for r in rows_of(threaded)]
        assert cursor_of(any_store) == cursor_of(threaded) == {"changed_at": "2025-03-01 09:01:34", "line_key": "L94"}
    finally:
        threaded.close()


def test_a_rerun_through_the_child_stages_only_changed_lines(  # noqa: F811
        store, wms, make_source, clock, log, spawned):  # noqa: F811
    backfill(store, wms, make_source, clock, log, n=60)
    with store.begin() as conn:  # read everything again: the overlap re-read of a cursor reset
        conn.execute(source_cursors.delete())
    wms.update("L7", qty="700")
    counts = sync.sync_source(store, "wms", make_source(wms), clock=clock, log=log, batch_size=10)
    assert len(spawned.children) == 2
    assert (counts["read"], counts["unchanged"], counts["revised"]) == (60, 59, 1)


def test_a_batch_the_child_cannot_commit_stops_it_and_its_error_reaches_the_sync(
        store, wms, make_source, clock, log, spawned):  # noqa: F811
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON movements WHEN NEW.line_key = 'L45' "
                             "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END")
    with pytest.raises(Exception, match="refused by the test trigger"):
        backfill(store, wms, make_source, clock, log)
    assert spawned.children[0]._child.returncode == 0
    keys = {r[2] for r in rows_of(store)}
    assert keys == {f"L{i}" for i in range(40)}  # nothing after the refused batch: its cursor would skip it
    assert cursor_of(store)["line_key"] == "L39"


def test_a_child_that_cannot_start_leaves_the_thread_staging_every_row(  # noqa: F811
        store, wms, make_source, clock, log, monkeypatch):  # noqa: F811
    def no_child(*args, **kwargs):
        raise OSError("fork: Resource temporarily unavailable")

    monkeypatch.setattr(sync, "ProcessBatchWriter", no_child)
    monkeypatch.setattr(sync, "PROCESS_MIN_ROWS", 20)
    counts = backfill(store, wms, make_source, clock, log)
    assert counts["new"] == 95 and len(rows_of(store)) == 95
    assert ("warning", "sync_child_unavailable",
            {"source": "wms", "error": "fork: Resource temporarily unavailable"}) in log.events


def test_a_child_that_cannot_open_the_store_is_unavailable(tmp_path, clock):  # noqa: F811
    missing = f"sqlite:///{tmp_path / 'no-such-folder' / 'state.db'}"
    writer = _writer_process.ProcessBatchWriter(missing, 5, "wms", True, clock)  # started; it answers later
    with pytest.raises(_writer_process.ChildUnavailable, match="unable to open database file") as caught:
        writer.ready()
    assert isinstance(caught.value, OSError)  # the sync's fallback to its thread catches OSError
    assert writer._child.returncode is not None


def test_a_child_that_cannot_open_the_store_leaves_the_sync_on_its_thread(
        tmp_path, store, wms, make_source, clock, log, spawned, monkeypatch):  # noqa: F811
    monkeypatch.setattr(sync.Store, "busy_timeout", 5, raising=False)
    real = spawned.__call__

    def elsewhere(url, *args, **kwargs):  # the child is told a store it cannot open
        return real(f"sqlite:///{tmp_path / 'no-such-folder' / 'state.db'}", *args, **kwargs)

    monkeypatch.setattr(sync, "ProcessBatchWriter", elsewhere)
    counts = backfill(store, wms, make_source, clock, log)
    assert counts["new"] == 95 and len(rows_of(store)) == 95
    assert [e[1] for e in log.events if e[1] == "sync_child_unavailable"] == ["sync_child_unavailable"]


def test_a_run_that_ends_before_the_child_takes_over_stops_it_unused(
        store, wms, make_source, clock, log, spawned, monkeypatch):  # noqa: F811
    monkeypatch.setattr(sync, "PROCESS_MIN_ROWS", 40)  # started at 20 rows; the source ends at 25
    counts = backfill(store, wms, make_source, clock, log, n=25)
    assert counts["new"] == 25 and len(rows_of(store)) == 25
    assert len(spawned.children) == 1 and spawned.children[0]._child.returncode is not None


def test_an_in_memory_store_never_gets_a_child():
    from connector.store.engine import Store

    memory = Store.open("sqlite://")
    try:
        assert sync._writer(memory, "wms", None, True, None).spawn is None
    finally:
        memory.close()


def test_the_store_password_never_reaches_the_childs_command_line(fresh_pg_db, monkeypatch):
    from connector.config.secrets import Secret
    from connector.model import Batch
    from connector.store.engine import Store
    from tests.support.wms import NOW

    class Clock:
        def now(self):
            return NOW

    pg = Store.open(fresh_pg_db.url, password=Secret(fresh_pg_db.password, "${PW}"))
    try:
        url = pg.engine.url.render_as_string(hide_password=False)
        with _writer_process.ProcessBatchWriter(url, 5, "wms", True, Clock()) as writer:
            command = Path(f"/proc/{writer._child.pid}/cmdline").read_bytes()
            writer.put(Batch([], [], {"line_key": "L1"}, exhausted=True))
        assert fresh_pg_db.password.encode() not in command
        with pg.read() as conn:
            assert sync.load_cursor(conn, "wms") == {"line_key": "L1"}
    finally:
        pg.close()


def test_the_pipe_to_the_child_holds_a_whole_batch(store, clock):  # noqa: F811
    import fcntl

    url = store.engine.url.render_as_string(hide_password=False)
    with _writer_process.ProcessBatchWriter(url, 5, "wms", True, clock) as writer:
        size = fcntl.fcntl(writer._child.stdin.fileno(), fcntl.F_GETPIPE_SZ)
    assert size == _writer_process.PIPE_BYTES


def test_a_stop_signal_to_the_whole_group_leaves_the_child_to_commit_what_it_was_handed(store, clock):  # noqa: F811
    import os
    import signal

    from connector.model import Batch

    url = store.engine.url.render_as_string(hide_password=False)
    with _writer_process.ProcessBatchWriter(url, 5, "wms", True, clock) as writer:
        writer.ready()
        os.kill(writer._child.pid, signal.SIGINT)  # Ctrl-C on a terminal
        os.kill(writer._child.pid, signal.SIGTERM)  # systemctl stop: KillMode=control-group
        writer.put(Batch([], [], {"line_key": "L9"}, exhausted=True))
    assert writer._child.returncode == 0
    with store.read() as conn:
        assert sync.load_cursor(conn, "wms") == {"line_key": "L9"}


def test_a_child_never_made_ready_closes_quietly_more_than_once(store, clock):  # noqa: F811
    url = store.engine.url.render_as_string(hide_password=False)
    writer = _writer_process.ProcessBatchWriter(url, 5, "wms", True, clock)
    writer.abandon()
    assert writer.close() == {} and writer._child.returncode is not None


def test_the_child_runs_in_its_own_session_so_a_terminals_ctrl_c_reaches_the_sync_alone(store, clock):  # noqa: F811
    import os

    url = store.engine.url.render_as_string(hide_password=False)
    with _writer_process.ProcessBatchWriter(url, 5, "wms", True, clock) as writer:
        writer.ready()
        assert os.getsid(writer._child.pid) == writer._child.pid != os.getsid(0)
