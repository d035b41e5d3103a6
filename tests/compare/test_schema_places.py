"""Revision 0007's `compare_places` (C7 located stock) and `compare_list_items`: a 0006 store with rows and watermarks upgrades
on SQLite and PostgreSQL without losing any, and its first tick with C7 on fills the table; the
downgrade drops it."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, select, text

from connector.clock import FixedClock
from connector.compare.engine import compare
from connector.compare.settings import CompareSection
from connector.store import migrate
from connector.store.engine import Store
from connector.store.tables import discrepancies, ledger_entries, movements
from connector.store.tables_compare_periods import compare_places
from tests.compare.test_schema_periods import STAMP, _count, target  # noqa: F401 (target: a fixture)
from tests.support.migrations import step_to
from tests.support.wms import log  # noqa: F401


def _fill_0006(engine) -> None:
    """A receipt into a non-bonded location, its ledger entry, and the watermarks of a past tick."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO movements (id, source, line_key, revision, content_hash, qty, occurred_at, "
                          "changed_at, staged_at, location) VALUES (1, 'wms', 'R1', 1, 'h', '5', :t, :t, :t, 'NB-01')"),
                     {"t": STAMP})
        conn.execute(text(
            "INSERT INTO ledger_entries (id, movement_id, source, line_key, revision, mapping_version, bws_no, "
            "gds_seqno, gds_mtno, gdecd, direction, action, dcl_qty, dcl_unitcd, lawf_qty, lawf_unitcd, doc_ref, "
            "needs_list, occurred_at, created_at) VALUES (1, 1, 'wms', 'R1', 1, 'v', 'T2345W000001', 1, 'MT-1', "
            "'8471300000', 'I', 'increase', '5', '007', '5', '007', NULL, false, :t, :t)"), {"t": STAMP})
        for name, value in (("entry_id", "1"), ("receipt_id", "0")):
            conn.execute(text("INSERT INTO compare_state (name, value, updated_at) VALUES (:n, :v, :t)"),
                         {"n": name, "v": value, "t": STAMP})


def test_store_at_0006_upgrades_keeping_rows_and_its_first_tick_fills_the_places(target, log):  # noqa: F811
    engine, url, password = target
    step_to(engine, command.upgrade, "0006")
    _fill_0006(engine)
    migrate.upgrade(engine)
    assert {"compare_places", "compare_list_items"} <= set(inspect(engine).get_table_names())
    assert [_count(engine, t) for t in (movements, ledger_entries)] == [1, 1]
    store = Store.open(url, password=password)
    try:
        counts = compare(store, CompareSection(non_bonded_locations=["NB-*"]), routes={}, site="s",
                         clock=FixedClock(datetime(2025, 3, 9, tzinfo=UTC)), log=log)
    finally:
        store.close()
    assert _count(engine, compare_places) == 1
    with engine.connect() as conn:  # the line no entry of that tick touched is evaluated too
        kinds = sorted(conn.execute(select(discrepancies.c.kind)).scalars())
    assert (counts["opened"], kinds) == (1, ["bonded_status_mismatch"])


def test_downgrade_to_0006_drops_the_places_and_keeps_the_rest(target):  # noqa: F811
    engine, _, _ = target
    migrate.upgrade(engine)
    _fill_0006(engine)
    step_to(engine, command.downgrade, "0006")
    assert not {"compare_places", "compare_list_items"} & set(inspect(engine).get_table_names())
    assert [_count(engine, t) for t in (movements, ledger_entries)] == [1, 1]
