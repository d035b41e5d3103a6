"""Bulk inserts: many rows per statement on SQLite, every row written once, in order, or none."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError

from connector.store import bulk
from connector.store.engine import Store

HEAD = "INSERT INTO quarantine (stage, ref, source, reason, detail, created_at)"
ROW_SQLITE, ROW_PG = "('source', 'L', ?, ?, ?, '2025-03-01T00:00:00.000000+00:00')", \
    "('source', 'L', %s, %s, %s, '2025-03-01T00:00:00.000000+00:00')"
TEXTS = [None, "", "中文", "it's", 'q"uote', "x" * 3000]


def rows(n: int) -> list[tuple]:
    return [(f"wms{i % 3}", f"R{i}", TEXTS[i % len(TEXTS)]) for i in range(n)]


def read(store: Store) -> list[tuple]:
    with store.read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT source, reason, detail FROM quarantine ORDER BY id")]


def insert(store: Store, values: list[tuple]) -> None:
    with store.begin() as conn:
        row = ROW_SQLITE if conn.dialect.name == "sqlite" else ROW_PG
        bulk.insert_rows(conn, HEAD, row, values)


@pytest.mark.parametrize("n", [0, 1, 7, 10, 23])
def test_rows_split_over_several_statements_are_all_written_in_order(any_store, monkeypatch, n):
    monkeypatch.setattr(bulk, "ROWS_PER_STATEMENT", 5)  # 23 rows: four full statements and a shorter one
    insert(any_store, rows(n))
    assert read(any_store) == rows(n)


def test_a_sqlite_binding_few_values_gets_fewer_rows_per_statement(tmp_path, monkeypatch):
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    statements = []
    try:
        with store.begin() as conn:
            conn.connection.dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 7)  # 2 rows of 3
            run = conn.exec_driver_sql
            monkeypatch.setattr(conn, "exec_driver_sql", lambda sql, *p: (statements.append(len(p[0])), run(sql, *p))[1])
            bulk.insert_rows(conn, HEAD, ROW_SQLITE, rows(5))
            monkeypatch.undo()
        assert read(store) == rows(5)
        assert statements == [6, 6, 3]
    finally:
        store.close()


def test_a_refused_row_in_a_later_statement_leaves_none_of_the_rows_in_a_savepoint(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "ROWS_PER_STATEMENT", 2)
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        with store.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (k TEXT PRIMARY KEY)")
            conn.exec_driver_sql("INSERT INTO t VALUES ('k4')")
            with pytest.raises(IntegrityError), conn.begin_nested():
                bulk.insert_rows(conn, "INSERT INTO t (k)", "(?)", [(f"k{i}",) for i in range(6)])
            assert conn.exec_driver_sql("SELECT k FROM t").scalars().all() == ["k4"]
    finally:
        store.close()
