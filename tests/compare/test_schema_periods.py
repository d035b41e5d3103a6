"""Revision 0006's comparator tables (C9 period sums, C5 dispatches, passport vehicles): a 0005 store with
rows upgrades on SQLite and PostgreSQL without losing any, then a rebuild fills them; the downgrade drops them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import func, inspect, select, text

from connector.clock import FixedClock
from connector.compare.engine import compare
from connector.compare.settings import CompareSection
from connector.store import migrate
from connector.store.engine import Store
from connector.store.tables import ledger_entries, movements, passports
from connector.store.tables_compare_periods import (
    compare_dispatches,
    compare_passport_vehicles,
    compare_periods,
)
from tests.support.migrations import step_to
from tests.support.wms import log  # noqa: F401

STAMP = datetime(2025, 3, 1, tzinfo=UTC).isoformat(timespec="microseconds")
MINE = {"compare_periods", "compare_dispatches", "compare_passport_vehicles"}


@pytest.fixture
def target(empty_store_target):
    return empty_store_target.engine, empty_store_target.url, empty_store_target.password


def _fill_0005(engine) -> None:
    """A dispatched movement, its ledger entry and a passport of its vehicle, in the 0005 schema."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO movements (id, source, line_key, revision, content_hash, qty, occurred_at, "
                          "changed_at, staged_at, extra) VALUES (1, 'wms', 'S1', 1, 'h', '5', :t, :t, :t, :x)"),
                     {"t": STAMP, "x": '{"vehicle_no": "V1", "gross_wt": "100"}'})
        conn.execute(text(
            "INSERT INTO ledger_entries (id, movement_id, source, line_key, revision, mapping_version, bws_no, "
            "gds_seqno, gds_mtno, gdecd, direction, action, dcl_qty, dcl_unitcd, lawf_qty, lawf_unitcd, doc_ref, "
            "needs_list, occurred_at, created_at) VALUES (1, 1, 'wms', 'S1', 1, 'v', 'T2345W000001', 1, 'MT-1', "
            "'8471300000', 'E', 'decrease', '-5', '007', '-5', '007', NULL, false, :t, :t)"), {"t": STAMP})
        conn.execute(text("INSERT INTO receipts (id, source, file_name, sha256, message_type, received_at) "
                          "VALUES (1, 'inbox', 'HF1.xml', 'x', 'SAS223', :t)"), {"t": STAMP})
        conn.execute(text("INSERT INTO passports (passport_no, vehicle_no, stucd, pass_time, total_gross_wt, "
                          "receipt_id, updated_at) VALUES ('HF1', 'V1', '2', :t, '100', 1, :t)"), {"t": STAMP})


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def test_store_at_0005_upgrades_keeping_rows_and_a_rebuild_fills_the_new_tables(target, log):  # noqa: F811
    engine, url, password = target
    step_to(engine, command.upgrade, "0005")
    _fill_0005(engine)
    migrate.upgrade(engine)
    assert MINE <= set(inspect(engine).get_table_names())
    assert "ix_passports_vehicle" in {i["name"] for i in inspect(engine).get_indexes("passports")}
    assert [_count(engine, t) for t in (movements, ledger_entries, passports)] == [1, 1, 1]
    store = Store.open(url, password=password)
    try:
        compare(store, CompareSection(), routes={}, site="s", clock=FixedClock(datetime(2025, 3, 2, tzinfo=UTC)),
                log=log)
    finally:
        store.close()
    assert [_count(engine, t) for t in (compare_periods, compare_dispatches, compare_passport_vehicles)] == [1, 1, 1]


def test_downgrade_to_0005_drops_the_new_tables_and_keeps_the_rest(target):
    engine, _, _ = target
    migrate.upgrade(engine)
    _fill_0005(engine)
    step_to(engine, command.downgrade, "0005")
    assert not MINE & set(inspect(engine).get_table_names())
    assert [_count(engine, t) for t in (movements, ledger_entries, passports)] == [1, 1, 1]
