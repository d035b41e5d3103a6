"""Migration 0004 on SQLite and PostgreSQL: the comparator's tables, columns and indexes, and a
compare run on each backend (the incremental state round-trips through both)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from connector.clock import FixedClock
from connector.compare.engine import compare
from connector.compare.settings import CompareSection
from tests.support.wms import log  # noqa: F401


@pytest.fixture
def store(any_store):
    return any_store


def test_migrated_store_has_compare_tables_columns_and_indexes(store):
    names = inspect(store.engine)
    assert {"compare_state", "compare_pending", "compare_balances", "compare_list_docs",
            "compare_passport_links"} <= set(names.get_table_names())
    columns = {c["name"] for c in names.get_columns("discrepancies")}
    assert {"unit_key", "evidence", "ack_reason", "acked_at"} <= columns
    indexes = {i["name"] for i in names.get_indexes("ledger_entries")}
    assert {"ix_ledger_entries_doc", "ix_ledger_entries_mtno"} <= indexes
    assert "ix_stock_bills_receipt" in {i["name"] for i in names.get_indexes("stock_bills")}


def test_compare_on_empty_store_rebuilds_then_ticks_with_nothing_to_do(store, log):  # noqa: F811
    clock = FixedClock(datetime(2025, 3, 1, tzinfo=UTC))
    run = lambda: compare(store, CompareSection(), routes={}, site="s", clock=clock,
                          log=log)
    assert run() == run() == {"opened": 0, "updated": 0, "resolved": 0, "unchanged": 0, "in_flight": 0}
