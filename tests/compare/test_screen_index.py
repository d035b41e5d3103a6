"""Revisions 0006 and 0008, the covering ledger-entry indexes: an older store upgrades (SQLite and
PostgreSQL) without losing rows, the rebuild's balance query (0006, ledger line) and WMS document
signatures (0008, document) read their index alone, and the downgrade restores the old one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import func, inspect, select, text

from connector.compare import screen
from connector.store import migrate
from connector.store.engine import build_engine
from connector.store.tables import ledger_entries, movements
from tests.support.migrations import step_to

COVERING = ["bws_no", "gds_seqno", "direction", "dcl_qty", "occurred_at", "gds_mtno", "dcl_unitcd"]
DOC_COVERING = ["doc_ref", "gds_mtno", "needs_list", "dcl_unitcd", "dcl_qty"]
STAMP = datetime(2025, 3, 1, tzinfo=UTC).isoformat(timespec="microseconds")


@pytest.fixture
def engine(empty_store_target):
    return empty_store_target.engine


def _fill(engine, entries: int) -> None:
    """One movement and `entries` ledger entries, written with plain SQL (the 0005 schema)."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO movements (id, source, line_key, revision, content_hash, qty, occurred_at, "
                          "changed_at, staged_at) VALUES (1, 'wms', 'L1', 1, 'h', '5', :t, :t, :t)"), {"t": STAMP})
        conn.execute(text(
            "INSERT INTO ledger_entries (id, movement_id, source, line_key, revision, mapping_version, bws_no, "
            "gds_seqno, gds_mtno, gdecd, direction, action, dcl_qty, dcl_unitcd, lawf_qty, lawf_unitcd, doc_ref, "
            "needs_list, occurred_at, created_at) VALUES (:i, 1, 'wms', 'L1', :i, 'v', 'T2345W000001', 1, 'MT-1', "
            "'8471300000', 'I', 'increase', '5', '007', '5', '007', 'DOC-1', true, :t, :t)"),
            [{"i": i, "t": STAMP} for i in range(1, entries + 1)])


def _index_columns(engine, name: str = "ix_ledger_entries_item") -> list[str]:
    found = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("ledger_entries")}
    return found[name]


def _plan(tmp_path, sql: str, params: tuple) -> str:
    engine = build_engine(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            return " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
    finally:
        engine.dispose()


def test_store_at_0005_upgrades_to_covering_index_keeping_every_row(engine):
    step_to(engine, command.upgrade, "0005")
    assert _index_columns(engine) == ["bws_no", "gds_seqno"]
    _fill(engine, 3)
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    assert _index_columns(engine) == COVERING
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ledger_entries)).scalar() == 3
        assert conn.execute(select(func.count()).select_from(movements)).scalar() == 1


def test_downgrade_below_0006_restores_the_two_column_index(engine):
    migrate.upgrade(engine)
    _fill(engine, 2)
    step_to(engine, command.downgrade, "0005")
    assert _index_columns(engine) == ["bws_no", "gds_seqno"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ledger_entries)).scalar() == 2


def test_balance_query_on_sqlite_reads_the_covering_index_only(tmp_path):
    plan = _plan(tmp_path, screen.BALANCES, (10,))
    assert "COVERING INDEX ix_ledger_entries_item" in plan
    assert "TEMP B-TREE" not in plan  # grouped in index order, not sorted


def test_store_at_0007_upgrades_to_the_document_covering_index_keeping_every_row(engine):
    step_to(engine, command.upgrade, "0007")
    assert _index_columns(engine, "ix_ledger_entries_doc") == ["doc_ref", "gds_mtno"]
    _fill(engine, 3)
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    assert _index_columns(engine, "ix_ledger_entries_doc") == DOC_COVERING
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ledger_entries)).scalar() == 3
        docs = conn.execute(select(ledger_entries.c.doc_ref).where(ledger_entries.c.doc_ref == "DOC-1")).scalars()
        assert list(docs) == ["DOC-1"] * 3


def test_downgrade_below_0008_restores_the_two_column_document_index(engine):
    migrate.upgrade(engine)
    _fill(engine, 2)
    step_to(engine, command.downgrade, "0007")
    assert _index_columns(engine, "ix_ledger_entries_doc") == ["doc_ref", "gds_mtno"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ledger_entries)).scalar() == 2


def test_wms_signatures_on_sqlite_read_the_document_index_only(tmp_path):
    plan = _plan(tmp_path, screen.WMS_SIGNATURES, (10,))
    assert "COVERING INDEX ix_ledger_entries_doc" in plan  # no table row read per entry
    assert "TEMP B-TREE" not in plan  # grouped in index order, not sorted
