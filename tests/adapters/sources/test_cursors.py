"""Cursor strategies, each against a real database, each failing if a row were lost."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import mssql

from adapters.sources.sql import SqlSource, SqlSourceConfig
from connector import sync
from connector.clock import SystemClock
from connector.store.tables import movements, quarantine, source_cursors
from tests.support.wms import clock, log, make_source, store, wms  # noqa: F401

PG_QUERY = ("SELECT id AS line_key, write_date AS changed_at, write_date AS occurred_at, 'SKU-1' AS sku, "
            "qty, 'EA' AS uom, 'receipt' AS movement_type, 'DOC' AS doc_ref FROM moves")


def staged_keys(store) -> list[str]:  # noqa: F811
    with store.read() as conn:
        return sorted(r.line_key for r in conn.execute(select(movements.c.line_key)))


def pg_source(db, **fields) -> SqlSource:
    data = {"url": db.url, "password": "${PW}", "timezone": "UTC", "encoding": "utf-8", "query": PG_QUERY,
            "lag_seconds": 0, "overlap_every_seconds": 0, **fields}
    config = SqlSourceConfig.model_validate(data, context={"environ": {"PW": db.password}})
    return SqlSource("wms", config, clock=SystemClock())


def _pg_table(db) -> None:
    with db.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE moves (id int PRIMARY KEY, write_date timestamp NOT NULL, qty numeric NOT NULL)")


def _long_transaction_story(db, store, log, pause: float = 0, **fields):  # noqa: F811
    """Odoo's trap: a transaction starts, stamps write_date with its start time, commits late."""
    _pg_table(db)
    source = pg_source(db, **fields)
    late = db.connect()
    late.execute("INSERT INTO moves VALUES (1, now() AT TIME ZONE 'UTC', 5)")  # open: not yet visible
    with db.connect(autocommit=True) as other:
        other.execute("INSERT INTO moves VALUES (2, clock_timestamp() AT TIME ZONE 'UTC' + interval '1 ms', 7)")
    sync.sync_source(store, "wms", source, clock=SystemClock(), log=log, batch_size=100)
    late.commit()
    late.close()
    sync.sync_source(store, "wms", source, clock=SystemClock(), log=log, batch_size=100)
    if pause:  # the run after `overlap_every_seconds` starts overlap_seconds before the previous pass's cursor
        time.sleep(pause)
        sync.sync_source(store, "wms", source, clock=SystemClock(), log=log, batch_size=100)
    source.close()
    return staged_keys(store)


@pytest.mark.external_service
def test_keyset_without_cap_loses_the_row_of_a_long_transaction(fresh_pg_db, store, log):  # noqa: F811
    assert _long_transaction_story(fresh_pg_db, store, log, cap_at_open_transactions=False) == ["2"]


@pytest.mark.external_service
def test_keyset_capped_at_oldest_open_transaction_loses_nothing(fresh_pg_db, store, log):  # noqa: F811
    assert _long_transaction_story(fresh_pg_db, store, log, cap_at_open_transactions=True) == ["1", "2"]


@pytest.mark.external_service
def test_keyset_cap_taken_before_the_query_keeps_a_transaction_committing_during_it(fresh_pg_db):
    """The bound is read before the batch query: a transaction open then and committed while the query
    runs (so the query did not see it, and it is no longer open after) still holds the cursor back."""
    _pg_table(fresh_pg_db)
    slow = PG_QUERY + " CROSS JOIN (SELECT pg_sleep(1.0)) AS nap"  # the snapshot is taken, then it sleeps
    source = pg_source(fresh_pg_db, query=slow, cap_at_open_transactions=True)
    late = fresh_pg_db.connect()
    late.execute("INSERT INTO moves VALUES (1, now() AT TIME ZONE 'UTC', 5)")
    with fresh_pg_db.connect(autocommit=True) as other:
        other.execute("INSERT INTO moves VALUES (2, clock_timestamp() AT TIME ZONE 'UTC' + interval '1 ms', 7)")
    committer = threading.Timer(0.4, late.commit)
    committer.start()
    try:
        first = source.fetch(None, 100)
    finally:
        committer.join()
        late.close()
    second = source.fetch(first.cursor, 100)
    source.close()
    assert [m.line_key for m in first.movements] == []
    assert [m.line_key for m in second.movements] == ["1", "2"]


@pytest.mark.external_service
def test_keyset_overlap_reread_recovers_a_late_commit_without_duplicates(fresh_pg_db, store, log):  # noqa: F811
    keys = _long_transaction_story(fresh_pg_db, store, log, overlap_seconds=600, overlap_every_seconds=1,
                                   pause=1.1)  # the overlap pass is due again
    assert keys == ["1", "2"]


def test_monotonic_reads_every_id_in_batches(store, wms, make_source, clock, log):  # noqa: F811
    for n in range(1, 8):
        wms.add(n, changed_at="2025-03-01 09:00:00")
    source = make_source(wms, cursor="monotonic")
    sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=3)
    wms.add(8, changed_at="2025-02-01 09:00:00")  # an old timestamp does not matter to an id cursor
    sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=3)
    assert staged_keys(store) == sorted(str(n) for n in range(1, 9))


def test_rowversion_statement_is_bounded_by_min_active_rowversion(wms, make_source):  # noqa: F811
    query = "SELECT line_key, changed_at, occurred_at, sku, qty, uom, movement_type, doc_ref, rv AS row_version FROM moves"
    source = make_source(wms, cursor="rowversion", query=query)
    source.columns = source.columns  # compile only: no SQL Server runs here
    sql = str(source.statement({"row_version": b"\x00\x00\x00\x00\x00\x00\x07\xd1"}, 500)
              .compile(dialect=mssql.dialect()))
    assert sql.startswith("SELECT TOP ")
    assert "movements.row_version > " in sql and "movements.row_version < MIN_ACTIVE_ROWVERSION()" in sql
    assert sql.rstrip().endswith("ORDER BY movements.row_version")


def test_rowversion_cursor_round_trips_bytes():
    encoded = sync._encode_cursor({"row_version": b"\x00\x01\xff"})
    assert sync._decode_cursor(encoded) == {"row_version": b"\x00\x01\xff"}


def test_snapshot_diff_reports_a_vanished_line_and_revises_a_changed_one(store, wms, make_source, clock, log):  # noqa: F811
    for key in ("A", "B", "C"):
        wms.add(key)  # changed_at is not a cursor here: the query may return any time (e.g. the business time)
    source = make_source(wms, cursor="snapshot")
    sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=2)
    wms.execute("DELETE FROM moves WHERE line_key = 'B'; UPDATE moves SET qty = '11' WHERE line_key = 'C'")
    counts = sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=2)
    assert counts["quarantined_by_reason"] == {"movement_vanished": 1}
    assert (counts["unchanged"], counts["revised"]) == (1, 1)
    with store.read() as conn:
        [entry] = conn.execute(select(quarantine).where(quarantine.c.reason == "movement_vanished")).all()
        assert entry.ref == "B"
        assert conn.execute(select(source_cursors)).first() is None


@pytest.mark.parametrize("damage", ["DELETE FROM moves", "UPDATE moves SET changed_at = '2020-01-01 00:00:00'"])
def test_cursor_beyond_the_source_halts_it_and_keeps_the_cursor(store, wms, make_source, clock, log, damage):  # noqa: F811
    wms.add("L1")
    source = make_source(wms)
    sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=10)
    with store.read() as conn:
        before = sync.load_cursor(conn, "wms")
    wms.execute(damage)  # truncated, or restored from an old backup
    with pytest.raises(sync.SourceHalted) as halted:
        sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=10)
    assert halted.value.new
    wms.add("L2", changed_at="2025-03-02 09:00:00")
    with pytest.raises(sync.SourceHalted) as again:  # stays halted: never restarts from zero or now
        sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=10)
    assert not again.value.new
    with store.read() as conn:
        assert sync.load_cursor(conn, "wms") == before
    assert staged_keys(store) == ["L1"]


def test_reset_after_a_halt_rereads_from_the_start_without_duplicates(store, wms, make_source, clock, log):  # noqa: F811
    wms.add("L1")
    source = make_source(wms)
    sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=10)
    wms.execute("UPDATE moves SET changed_at = '2020-01-01 00:00:00'")
    with pytest.raises(sync.SourceHalted):
        sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=10)
    with store.begin() as conn:
        assert sync.reset_cursor(conn, "wms")
    counts = sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=10)
    assert (counts["read"], counts.get("new", 0), counts["unchanged"]) == (1, 0, 1)


def test_overlap_rewind_of_text_timestamp_keeps_its_format():
    from adapters.sources.cursors import rewind

    assert rewind({"changed_at": "2025-03-01 09:30:00", "line_key": "L9"}, 1800) == {
        "changed_at": "2025-03-01 09:00:00", "line_key": ""}
    assert rewind({"changed_at": datetime(2025, 3, 1, 9, 30, tzinfo=UTC), "line_key": 9}, 60)["changed_at"] == \
        datetime(2025, 3, 1, 9, 30, tzinfo=UTC) - timedelta(seconds=60)


def test_cursor_at_the_newest_time_with_a_larger_line_key_halts_the_source(store, wms, make_source, clock, log):  # noqa: F811
    wms.add("L1", changed_at="2025-03-01 09:00:00")
    source = make_source(wms)
    sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=10)
    wms.execute("UPDATE moves SET line_key = 'L0'")  # same time, the line the cursor names is gone
    with pytest.raises(sync.SourceHalted, match="beyond the source"):
        sync.sync_source(store, "wms", source, clock=clock, log=log, batch_size=10)


@pytest.mark.parametrize(("cursor", "ahead"), [
    ({"changed_at": 5, "line_key": "B"}, False),  # the newest row itself
    ({"changed_at": 5, "line_key": "C"}, True),  # same time, larger key: the first column alone says no
    ({"changed_at": 5, "line_key": "A"}, False),
    ({"changed_at": 6, "line_key": "A"}, True),
    ({"changed_at": 4, "line_key": "Z"}, False),
])
def test_is_ahead_compares_the_whole_keyset_tuple(cursor, ahead):
    from adapters.sources.cursors import is_ahead

    assert is_ahead(cursor, {"changed_at": 5, "line_key": "B"}, ("changed_at", "line_key")) is ahead


def test_is_ahead_of_values_of_another_type_compares_them_as_text():
    from datetime import datetime

    from adapters.sources.cursors import is_ahead

    newest = {"changed_at": datetime(2025, 3, 1, 9), "line_key": "B"}
    assert is_ahead({"changed_at": "2025-03-01 09:00:00", "line_key": "C"}, newest, ("changed_at", "line_key"))
    assert not is_ahead({"changed_at": "2025-03-01 09:00:00", "line_key": "B"}, newest, ("changed_at", "line_key"))
