"""The sync stage: batches staged with their cursor in one transaction; revisions by content."""

from __future__ import annotations

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
