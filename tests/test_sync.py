"""The sync stage: batches staged with their cursor in one transaction; revisions by content."""

from __future__ import annotations

import gc
import weakref
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from connector import sync
from connector.store.tables import movements, quarantine, source_cursors
from tests.support.wms import clock, log, make_source, store, wms  # noqa: F401


def run(store, source, clock, log, batch_size=100):  # noqa: F811
    return sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=batch_size)


def cursor_of(store):  # noqa: F811
    with store.read() as conn:
        return sync.load_cursor(conn, "wms")


def staged(store):  # noqa: F811
    with store.read() as conn:
        return [(r.line_key, r.revision, r.qty) for r in
                conn.execute(select(movements).order_by(movements.c.line_key, movements.c.revision))]


def open_quarantine(store):  # noqa: F811
    with store.read() as conn:
        return [(r.ref, r.reason) for r in conn.execute(
            select(quarantine).where(quarantine.c.resolved_at.is_(None)).order_by(quarantine.c.id))]


def add_rows(wms, n, start=0):  # noqa: F811
    for i in range(start, start + n):
        wms.add(f"L{i}", changed_at=f"2025-03-01 09:00:{i:02d}", qty=str(i + 1))


def test_sync_stages_every_row_and_saves_cursor_at_the_last_one(store, wms, make_source, clock, log):
    add_rows(wms, 5)
    counts = run(store, make_source(wms), clock, log, batch_size=2)
    assert counts == {"read": 5, "new": 5, "quarantined_by_reason": {}}
    assert [r[0] for r in staged(store)] == [f"L{i}" for i in range(5)]
    assert cursor_of(store) == {"changed_at": "2025-03-01 09:00:04", "line_key": "L4"}


def test_sync_movements_are_staged_with_revision_1_and_pending_ledger_state(store, wms, make_source, clock, log):
    wms.add("L1", qty="12.50")
    run(store, make_source(wms), clock, log)
    with store.read() as conn:
        row = conn.execute(select(movements)).one()
    assert (row.revision, row.qty, row.ledger_state, row.staged_at) == (1, Decimal("12.5"), "pending", clock.now())


def test_sync_failing_store_write_mid_batch_keeps_cursor_and_writes_nothing_of_the_batch(
        store, wms, make_source, clock, log):
    add_rows(wms, 6)
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER crash BEFORE INSERT ON movements WHEN NEW.line_key = 'L4' "
                             "BEGIN SELECT RAISE(ABORT, 'disk gone'); END")
    with pytest.raises(IntegrityError, match="disk gone"):
        run(store, make_source(wms), clock, log, batch_size=3)
    assert [r[0] for r in staged(store)] == ["L0", "L1", "L2"]  # batch 2 (L3, L4, L5): not half-written
    assert cursor_of(store) == {"changed_at": "2025-03-01 09:00:02", "line_key": "L2"}
    with store.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER crash")
    counts = run(store, make_source(wms), clock, log, batch_size=3)
    assert counts["new"] == 3
    assert staged(store) == [(f"L{i}", 1, Decimal(i + 1)) for i in range(6)]
    assert cursor_of(store)["line_key"] == "L5"


def test_sync_failing_cursor_write_rolls_back_the_batch_rows(store, wms, make_source, clock, log):
    add_rows(wms, 2)
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER crash BEFORE INSERT ON source_cursors "
                             "BEGIN SELECT RAISE(ABORT, 'cursor write failed'); END")
    with pytest.raises(IntegrityError, match="cursor write failed"):
        run(store, make_source(wms), clock, log)
    assert staged(store) == []
    assert cursor_of(store) is None


def test_sync_changed_row_becomes_revision_2(store, wms, make_source, clock, log):
    wms.add("L1", qty="10")
    run(store, make_source(wms), clock, log)
    wms.update("L1", qty="12", changed_at="2025-03-02 09:00:00")
    counts = run(store, make_source(wms), clock, log)
    assert counts["revised"] == 1
    assert staged(store) == [("L1", 1, Decimal(10)), ("L1", 2, Decimal(12))]


def test_sync_unchanged_reread_is_not_a_new_revision(store, wms, make_source, clock, log):
    wms.add("L1", qty="10")
    run(store, make_source(wms), clock, log)
    wms.update("L1", changed_at="2025-03-02 09:00:00", qty="10.00")  # touched, same content
    counts = run(store, make_source(wms), clock, log)
    assert counts["unchanged"] == 1
    assert staged(store) == [("L1", 1, Decimal(10))]
    assert cursor_of(store)["changed_at"] == "2025-03-02 09:00:00"


def test_sync_row_changed_back_to_earlier_content_is_a_new_revision(store, wms, make_source, clock, log):
    wms.add("L1", qty="10")
    source = make_source(wms)
    run(store, source, clock, log)
    wms.update("L1", qty="11", changed_at="2025-03-02 09:00:00")
    run(store, source, clock, log)
    wms.update("L1", qty="10", changed_at="2025-03-03 09:00:00")
    run(store, source, clock, log)
    assert [r[1:] for r in staged(store)] == [(1, Decimal(10)), (2, Decimal(11)), (3, Decimal(10))]


def test_sync_bad_rows_are_quarantined_and_cursor_goes_on(store, wms, make_source, clock, log):
    wms.add("L1")
    wms.add("L2", qty="ten", changed_at="2025-03-01 09:00:01")
    wms.add("L3", changed_at="2025-03-01 09:00:02")
    counts = run(store, make_source(wms), clock, log)
    assert counts == {"read": 3, "new": 2, "quarantined": 1, "quarantined_by_reason": {"qty_invalid": 1}}
    assert [r[0] for r in staged(store)] == ["L1", "L3"]
    assert open_quarantine(store) == [("L2", "qty_invalid")]
    assert cursor_of(store)["line_key"] == "L3"
    assert ("warning", "source_rows_quarantined", {"source": "wms", "reason": "qty_invalid", "rows": 1}) in log.events


def test_sync_quarantine_entry_keeps_stage_detail_and_raw_row(store, wms, make_source, clock, log):
    wms.add("L2", sku=b"\xff\xfe")
    run(store, make_source(wms, encoding="gbk"), clock, log)
    with store.read() as conn:
        row = conn.execute(select(quarantine)).one()
    assert (row.stage, row.source, row.ref, row.reason) == ("source", "wms", "L2", "encoding_error")
    assert row.payload["sku"] == {"hex": "fffe"}
    assert row.created_at == clock.now()


def test_sync_same_bad_row_read_twice_keeps_one_open_quarantine_entry(store, wms, make_source, clock, log):
    wms.add("L2", qty="ten")
    run(store, make_source(wms), clock, log)
    wms.update("L2", changed_at="2025-03-02 09:00:00")
    run(store, make_source(wms), clock, log)
    assert open_quarantine(store) == [("L2", "qty_invalid")]


def test_sync_young_rows_wait_for_the_lag_then_arrive(store, wms, make_source, clock, log):
    wms.add("old")
    wms.add("young", changed_at="2025-03-04 19:58:00")  # 2 minutes before NOW, Shanghai wall time
    source = make_source(wms)
    run(store, source, clock, log)
    assert [r[0] for r in staged(store)] == ["old"]
    clock.advance(minutes=10)
    run(store, source, clock, log)
    assert [r[0] for r in staged(store)] == ["old", "young"]


def test_sync_cursor_round_trips_raw_driver_values(store, wms, make_source, clock, log):
    wms.add(7, changed_at="2025-03-01 09:00:00")
    run(store, make_source(wms), clock, log)
    with store.read() as conn:
        stored = conn.execute(select(source_cursors.c.value)).scalar_one()
    assert stored == {"changed_at": {"t": "str", "v": "2025-03-01 09:00:00"}, "line_key": {"t": "int", "v": 7}}
    assert cursor_of(store) == {"changed_at": "2025-03-01 09:00:00", "line_key": 7}


def test_sync_row_with_null_timestamp_does_not_stop_later_rows(store, wms, make_source, clock, log):
    wms.add("A", changed_at=None)
    wms.add("B", changed_at="2025-03-01 09:00:01")
    wms.add("C", changed_at="2025-03-01 09:00:02")
    source = make_source(wms)
    run(store, source, clock, log, batch_size=1)
    run(store, source, clock, log, batch_size=1)
    assert [r[0] for r in staged(store)] == ["B", "C"]
    assert open_quarantine(store) == [("A", "cursor_value_missing")]


def test_sync_bad_row_fixed_in_wms_resolves_its_quarantine_entry(store, wms, make_source, clock, log):
    wms.add("L2", qty="ten")
    run(store, make_source(wms), clock, log)
    wms.update("L2", qty="10", changed_at="2025-03-02 09:00:00")
    run(store, make_source(wms), clock, log)
    assert [r[0] for r in staged(store)] == ["L2"]
    assert open_quarantine(store) == []


# -- RELIABILITY.md B5: the WMS-side bad-input catalogue (table in docs/sources.md) ----------------

def test_sync_bad_rows_over_several_batches_count_once_per_reason_per_run(store, wms, make_source, clock, log):
    for i in range(6):
        wms.add(f"L{i}", changed_at=f"2025-03-01 09:00:0{i}", qty="NaN" if i % 2 else "1")
    counts = run(store, make_source(wms), clock, log, batch_size=2)
    assert counts["quarantined_by_reason"] == {"qty_invalid": 3}
    warnings = [f for level, event, f in log.events if event == "source_rows_quarantined"]
    assert warnings == [{"source": "wms", "reason": "qty_invalid", "rows": 3}]  # one per reason: one alert


def test_sync_content_hash_format_is_unchanged(store, wms, make_source, clock, log):
    """Revisions already staged must not be re-created by a faster hash: the bytes hashed are pinned."""
    import hashlib
    import json

    wms.add("L1", sku="铜线 \"A\"", qty="2.50", lot=None, location="A-1")
    run(store, make_source(wms), clock, log)
    with store.read() as conn:
        row = conn.execute(select(movements)).one()
    fields = [row.sku, "2.5", row.uom, row.movement_type, row.doc_ref, None, "A-1", row.occurred_at.isoformat()]
    assert row.content_hash == hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


@pytest.mark.parametrize("stamps", [
    ("2024-11-03 01:30:00", "2024-11-03 01:30:00", "2024-11-03 01:10:00"),  # the repeated hour (fold)
    ("2024-03-10 02:30:00", "2024-03-10 02:30:00", "2024-03-10 03:10:00"),  # the missing hour
], ids=["repeated-hour", "missing-hour"])
def test_sync_dst_transition_hours_lose_no_row(store, wms, make_source, clock, log, stamps):
    for i, stamp in enumerate(stamps):
        wms.add(f"L{i}", changed_at=stamp, occurred_at=stamp)
    counts = run(store, make_source(wms, timezone="America/New_York"), clock, log, batch_size=1)
    assert (counts["new"], counts["quarantined_by_reason"]) == (3, {})
    assert sorted(r[0] for r in staged(store)) == ["L0", "L1", "L2"]


def test_sync_gaps_and_jumps_in_a_monotonic_id_lose_nothing(store, wms, make_source, clock, log):
    for key in (1, 2, 5, 1005, 1006):  # rolled-back ids, an identity-cache jump
        wms.add(key)
    counts = run(store, make_source(wms, cursor="monotonic"), clock, log, batch_size=2)
    assert counts["new"] == 5 and cursor_of(store) == {"line_key": 1006}


@pytest.mark.external_service
def test_sync_locked_wms_table_aborts_the_batch_and_keeps_the_cursor(fresh_pg_db, store, clock, log):  # noqa: F811
    from adapters.sources.sql import SqlSource, SqlSourceConfig
    from connector.errors import RetryableSourceError
    from tests.support.wms import QUERY

    with fresh_pg_db.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE moves (line_key int, changed_at timestamp, occurred_at timestamp, sku text, "
                     "qty numeric, uom text, movement_type text, doc_ref text, lot text, location text)")
        conn.execute("INSERT INTO moves SELECT i, '2025-03-01 09:00'::timestamp + i * interval '1 s', "
                     "'2025-03-01', 'SKU', 1, 'pcs', 'receipt', 'D', NULL, NULL FROM generate_series(1, 4) i")
    config = SqlSourceConfig.model_validate(
        {"url": fresh_pg_db.url, "password": "${PW}", "timezone": "UTC", "encoding": "utf-8", "query": QUERY,
         "query_timeout_seconds": 1, "overlap_every_seconds": 0}, context={"environ": {"PW": fresh_pg_db.password}})
    source = SqlSource("wms", config, clock=clock)
    try:
        run(store, source, clock, log, batch_size=2)
        before = cursor_of(store)
        with fresh_pg_db.connect() as locker:
            locker.execute("INSERT INTO moves VALUES (5, '2025-03-01 10:00', '2025-03-01', 'SKU', 1, 'pcs', "
                           "'receipt', 'D', NULL, NULL)")
            locker.execute("LOCK TABLE moves IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(RetryableSourceError, match="statement timeout"):
                run(store, source, clock, log, batch_size=2)
            assert cursor_of(store) == before
        assert run(store, source, clock, log, batch_size=2)["new"] == 1  # the lock is gone: it goes on
    finally:
        source.close()


# -- backfill: resume after a kill, progress on a terminal --------------------------------------------

CHILD = """
import sys, time
from datetime import UTC, datetime
from adapters.sources.sql import SqlSource, SqlSourceConfig
from connector import sync
from connector.clock import FixedClock
from connector.store.engine import Store
from tests.support.wms import QUERY, Log
config = SqlSourceConfig.model_validate({"url": sys.argv[1], "timezone": "UTC", "encoding": "utf-8",
                                         "query": QUERY, "overlap_every_seconds": 0})
clock = FixedClock(datetime(2030, 1, 1, tzinfo=UTC))
store = Store.open(sys.argv[2])
if sys.argv[3] == "writer":  # the store side is the slow one: batches wait in the writer's queue
    stage = sync.stage_batch
    sync.stage_batch = lambda *a, **k: (time.sleep(0.05), stage(*a, **k))[1]
if sys.argv[3] == "child":  # the store side moves to a child process after 400 rows; its pid goes to a file
    from connector import _writer_process
    sync.PROCESS_MIN_ROWS = 400
    def recorded(*args, **kwargs):
        writer = _writer_process.ProcessBatchWriter(*args, **kwargs)
        open(sys.argv[4], "w").write(str(writer._child.pid))
        return writer
    sync.ProcessBatchWriter = recorded
sync.sync_source(store, "wms", SqlSource("wms", config, clock=clock), clock=clock, log=Log(), batch_size=200,
                 progress=lambda n: time.sleep(0 if sys.argv[3] == "writer" else 0.05))
"""


@pytest.mark.parametrize("slow", ["reader", "writer", "child"])
def test_backfill_killed_mid_run_resumes_to_the_same_state_without_duplicates(tmp_path, clock, log, slow):  # noqa: F811
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time
    from pathlib import Path

    from adapters.sources.sql import SqlSource, SqlSourceConfig
    from connector.store.engine import Store
    from tests.support.wms import COLUMNS, QUERY

    rows = 6000
    wms_db = sqlite3.connect(tmp_path / "wms.db")
    wms_db.execute(f"CREATE TABLE moves ({', '.join(COLUMNS)})")
    wms_db.executemany("INSERT INTO moves VALUES (?, ?, ?, 'SKU', ?, 'pcs', 'receipt', 'D', NULL, NULL)",
                       [(i, f"2024-01-01 00:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}", "2024-01-01", i % 7 + 1)
                        for i in range(rows)])
    wms_db.commit()
    wms_db.close()
    url, state = f"sqlite:///{tmp_path / 'wms.db'}", f"sqlite:///{tmp_path / 'state.db'}"
    Store.open(state).close()
    pid_file = tmp_path / "staging-child.pid"
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, state, slow, str(pid_file)],
                             cwd=Path(__file__).resolve().parents[1],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while staged_count(tmp_path) < 1000 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        errors = child.stderr.read().decode()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL, errors
    assert 0 < staged_count(tmp_path) < rows  # killed mid-backfill
    if slow == "child":  # the staging child saw its pipe close and stopped by itself
        assert wait_gone(int(pid_file.read_text()), 30)
    store = Store.open(state)
    config = SqlSourceConfig.model_validate({"url": url, "timezone": "UTC", "encoding": "utf-8", "query": QUERY,
                                             "overlap_every_seconds": 0, "lag_seconds": 0})
    source = SqlSource("wms", config, clock=clock)
    try:
        sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=500)
        with store.read() as conn:
            keys = [r.line_key for r in conn.execute(select(movements.c.line_key, movements.c.revision))
                    if r.revision == 1]
            total = conn.exec_driver_sql("SELECT count(*) FROM movements").scalar()
        assert (total, len(set(keys))) == (rows, rows)  # every row once, no duplicate, no second revision
    finally:
        source.close()
        store.close()


def wait_gone(pid: int, seconds: float) -> bool:
    """True once the process has exited (gone, or a zombie its new parent has not reaped yet)."""
    import time
    from pathlib import Path

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def staged_count(folder) -> int:
    import sqlite3

    db = sqlite3.connect(f"file:{folder / 'state.db'}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute("SELECT count(*) FROM movements").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


class Terminal:
    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_progress_on_a_terminal_shows_rows_per_second_and_a_bar(wms, make_source):
    from connector import _progress

    add_rows(wms, 4)
    stream = Terminal()
    bar = _progress.for_terminal("wms", make_source(wms), stream)
    bar.start(None)
    assert bar.total == 4, stream.text
    bar(3)
    bar.close()
    assert "[" in stream.text and "3 rows" in stream.text and "rows/s" in stream.text and "of 4 left to read" in stream.text


def test_progress_total_of_a_resumed_backfill_counts_only_the_rows_after_the_stored_cursor(
        store, wms, make_source, clock, log):
    from connector import _progress

    add_rows(wms, 10)
    sync.sync_source(store, "wms", make_source(wms), clock=clock, log=log, batch_size=3, max_batches=2)  # killed
    stream = Terminal()
    bar = _progress.for_terminal("wms", make_source(wms), stream)
    counts = sync.sync_source(store, "wms", make_source(wms), clock=clock, log=log, batch_size=3, progress=bar)
    assert (bar.total, counts["read"]) == (4, 4)
    assert "[##############################] 100% source wms: 4 rows" in stream.text
    assert "of 4 left to read" in stream.text


def test_progress_off_a_terminal_is_none(wms, make_source):
    import io

    from connector import _progress

    assert _progress.for_terminal("wms", make_source(wms), io.StringIO()) is None


def test_sync_writes_store_values_exactly_as_the_column_types_do(store, wms, make_source, clock, log):
    wms.add("L1", qty="12.50", changed_at="2025-03-01 09:00:00", occurred_at="2025-03-01 08:00:00")
    run(store, make_source(wms), clock, log)
    with store.read() as conn:
        raw = conn.exec_driver_sql("SELECT qty, occurred_at, changed_at, staged_at, extra FROM movements").one()
    assert tuple(raw) == ("12.5", "2025-03-01T00:00:00.000000+00:00", "2025-03-01T01:00:00.000000+00:00",
                          clock.now().isoformat(timespec="microseconds"), None)


@pytest.mark.external_service
def test_sync_into_a_postgresql_store_stages_revisions_and_flags(fresh_pg_db, wms, make_source, clock, log):  # noqa: F811
    from connector.config.secrets import Secret
    from connector.store.engine import Store

    pg_store = Store.open(fresh_pg_db.url, password=Secret(fresh_pg_db.password, "${PW}"))
    try:
        wms.add("L1", qty="1")
        wms.add("L2", changed_at="2031-01-01 00:00:00")  # far in the future: staged with a flag
        run(pg_store, make_source(wms), clock, log)
        wms.update("L1", qty="3", changed_at="2025-03-01 09:30:00")
        counts = run(pg_store, make_source(wms, name="wms"), clock, log)
        assert counts["revised"] == 1
        with pg_store.read() as conn:
            rows = [(r.line_key, r.revision, r.qty, r.extra) for r in
                    conn.execute(select(movements).order_by(movements.c.line_key, movements.c.revision))]
        assert rows[:2] == [("L1", 1, Decimal(1), None), ("L1", 2, Decimal(3), None)]
        assert rows[2][0] == "L2" and rows[2][3] == {"future_timestamp": True}
    finally:
        pg_store.close()


class Watched:
    """A source that notes, at each fetch, whether the cyclic collector is on, and leaves behind a
    reference cycle that only the collector can free."""

    def __init__(self, source):
        self.source, self.collector_on, self.cycles = source, [], []

    def __getattr__(self, name):
        return getattr(self.source, name)

    def fetch(self, cursor, limit):
        self.collector_on.append(gc.isenabled())
        cycle = Cycle()
        cycle.me = cycle
        self.cycles.append(weakref.ref(cycle))
        return self.source.fetch(cursor, limit)


class Cycle:
    me: Cycle


def test_sync_collector_is_off_while_batches_are_read_and_on_again_after(store, wms, make_source, clock, log):
    add_rows(wms, 7)
    source = Watched(make_source(wms))
    assert run(store, source, clock, log, batch_size=2)["new"] == 7
    assert source.collector_on == [False] * 4 and gc.isenabled()


def test_sync_collects_the_cycles_batches_leave_while_the_collector_is_off(
        store, wms, make_source, clock, log, monkeypatch):
    monkeypatch.setattr(sync, "YOUNG_LIMIT", 0)  # a long backfill reaches the real limit after some batches
    add_rows(wms, 7)
    source = Watched(make_source(wms))
    run(store, source, clock, log, batch_size=2)
    assert [ref() is None for ref in source.cycles[:-1]] == [True] * 3  # memory stays flat on a long backfill


def test_sync_failing_store_write_turns_the_collector_back_on(store, wms, make_source, clock, log):
    add_rows(wms, 2)
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER crash BEFORE INSERT ON movements BEGIN SELECT RAISE(ABORT, 'x'); END")
    with pytest.raises(IntegrityError):
        run(store, make_source(wms), clock, log)
    assert gc.isenabled()


def test_sync_leaves_a_collector_switched_off_before_it_off(store, wms, make_source, clock, log):
    add_rows(wms, 2)
    gc.disable()
    try:
        run(store, make_source(wms), clock, log)
        assert not gc.isenabled()
    finally:
        gc.enable()
