"""The store session seam on SQLite: WAL + synchronous=FULL, BEGIN IMMEDIATE writers, rollback."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from connector.errors import StoreError
from connector.store.engine import Store, build_engine
from tests.support.wms import store  # noqa: F401


@pytest.fixture
def other(store):  # noqa: F811
    """A second Store (second process, in effect) on the same file, with a 1 s busy timeout."""
    second = Store.open(store.engine.url.render_as_string(), busy_timeout=1)
    yield second
    second.close()


@pytest.fixture
def table(store):  # noqa: F811
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    return "t"


def rows(s: Store) -> list[int]:
    with s.read() as conn:
        return [r[0] for r in conn.exec_driver_sql("SELECT x FROM t ORDER BY x")]


def test_open_sqlite_sets_wal_synchronous_full_and_foreign_keys(store):  # noqa: F811
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_begin_commits_on_normal_exit(store, other, table):  # noqa: F811
    with store.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    assert rows(other) == [1]


def test_begin_rolls_back_on_exception(store, table):  # noqa: F811
    with pytest.raises(ValueError, match="stage failed"):
        with store.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            raise ValueError("stage failed")
    assert rows(store) == []


def test_begin_failed_statement_rolls_back_earlier_statements(store, table):  # noqa: F811
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER no_two BEFORE INSERT ON t WHEN NEW.x = 2 "
                             "BEGIN SELECT RAISE(ABORT, 'two refused'); END")
    with pytest.raises(IntegrityError, match="two refused"):
        with store.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
    assert rows(store) == []


def test_begin_error_that_sqlite_already_rolled_back_surfaces_unmasked(store, table):  # noqa: F811
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER no_two BEFORE INSERT ON t WHEN NEW.x = 2 "
                             "BEGIN SELECT RAISE(ROLLBACK, 'two refused'); END")
    with pytest.raises(IntegrityError, match="two refused"):
        with store.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
    assert rows(store) == []


def test_begin_takes_the_write_lock_before_any_statement(store, other):  # noqa: F811
    with store.begin():
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            with other.begin() as conn:
                conn.exec_driver_sql("SELECT 1")
        assert time.monotonic() - started >= 0.9  # it waited for the busy timeout first


def test_begin_second_writer_waits_for_the_first_to_commit(store, table, tmp_path):  # noqa: F811
    patient = Store.open(store.engine.url.render_as_string(), busy_timeout=10)
    done = threading.Event()
    errors: list[BaseException] = []

    def second_writer():
        try:
            with patient.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        except BaseException as exc:  # reported below
            errors.append(exc)
        done.set()

    try:
        with store.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            thread = threading.Thread(target=second_writer)
            thread.start()
            assert not done.wait(0.3)  # blocked behind our lock
        thread.join(10)
        assert errors == []
        assert rows(store) == [1, 2]
    finally:
        patient.close()


def test_read_does_not_block_a_writer_and_keeps_its_snapshot(store, other, table):  # noqa: F811
    with store.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with store.read() as reader:
        assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
        with other.begin() as writer:
            writer.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    assert rows(store) == [1, 2]


def test_begin_and_read_return_their_connections(store, table):  # noqa: F811
    with store.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with store.read() as conn:
        conn.exec_driver_sql("SELECT * FROM t").all()
    assert store.engine.pool.checkedout() == 0


def test_foreign_keys_are_enforced(store):  # noqa: F811
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        with store.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO bond_invt_heads (bond_invt_no, result_rank, receipt_id, updated_at) "
                "VALUES ('Q1', 0, 999, '2025-03-01T00:00:00.000000+00:00')")


def test_open_file_that_is_not_a_database_raises_store_error(tmp_path):
    path = tmp_path / "state.db"
    path.write_bytes(b"definitely not an SQLite file " * 200)
    with pytest.raises(StoreError):
        Store.open(f"sqlite:///{path}")


def test_describe_hides_the_password():
    s = Store(build_engine("postgresql+psycopg://connector:pw-123@db.invalid/state"))
    try:
        assert s.describe() == "postgresql+psycopg://connector:***@db.invalid/state"
    finally:
        s.close()
