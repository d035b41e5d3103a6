"""A read-only SQLite query run in a child process (the rebuild's big aggregate queries)."""

from __future__ import annotations

import sqlite3

import pytest

from connector.compare import _sqlchild


@pytest.fixture
def db_file(tmp_path):
    path = tmp_path / "store.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (k TEXT, n INTEGER, q TEXT, f REAL)")
    db.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [("a", 1, "2.5", 0.5), ("b", None, "-3", None), ("库", 3, None, 1.0)])
    db.commit()
    db.close()
    return str(path)


def test_query_in_a_child_returns_the_rows_sqlite_gives_in_process(db_file):
    sql, params = "SELECT k, n, q, f FROM t WHERE n IS NULL OR n >= ? ORDER BY k", (1,)
    with sqlite3.connect(db_file) as db:
        expected = db.execute(sql, params).fetchall()
    assert _sqlchild.query(db_file, sql, params) == expected


def test_bad_sql_in_a_child_raises_an_operational_error_naming_the_cause(db_file):
    with pytest.raises(sqlite3.OperationalError, match="no such table: missing"):
        _sqlchild.query(db_file, "SELECT * FROM missing")


def test_child_cannot_write_to_the_store(db_file):
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        _sqlchild.query(db_file, "DELETE FROM t")
    assert _sqlchild.query(db_file, "SELECT count(*) FROM t") == [(3,)]


def test_missing_store_file_raises_instead_of_creating_one(tmp_path):
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        _sqlchild.query(str(tmp_path / "absent.db"), "SELECT 1")
    assert not (tmp_path / "absent.db").exists()


def test_no_child_can_start_the_query_runs_in_this_process_with_the_same_rows(db_file, monkeypatch):
    monkeypatch.setattr(_sqlchild.sys, "executable", "/nonexistent/python")
    assert _sqlchild.query(db_file, "SELECT k FROM t WHERE n = ?", (1,)) == [("a",)]
