"""Schema migrations: a fresh store at head, idempotent reopening, an unknown version refused untouched."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event, inspect

from connector.errors import SchemaVersionError
from connector.store import migrate
from connector.store.engine import Store, build_engine
from connector.store.tables import metadata


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def table_names(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()


def versions(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute("SELECT version_num FROM alembic_version")]
    finally:
        db.close()


@pytest.fixture
def newer_store(tmp_path: Path) -> Path:
    """A store whose alembic_version names a revision this connector does not know."""
    path = tmp_path / "state.db"
    Store.open(url_of(path)).close()
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE alembic_version SET version_num = 'f00dcafe'")
        db.execute("INSERT INTO quarantine (stage, source, ref, reason, created_at) "
                   "VALUES ('source', 'wms', 'L1', 'qty_invalid', '2025-03-01T00:00:00.000000+00:00')")
    db.close()
    return path


def test_known_revisions_contain_head():
    assert migrate.head() in migrate.known_revisions()


def test_open_fresh_store_creates_every_table_at_head(tmp_path):
    path = tmp_path / "state.db"
    store = Store.open(url_of(path))
    try:
        assert migrate.current(store.engine) == migrate.head()
        assert set(metadata.tables) <= set(inspect(store.engine).get_table_names())
    finally:
        store.close()


def test_open_twice_keeps_data_and_one_version_row(tmp_path):
    path = tmp_path / "state.db"
    first = Store.open(url_of(path))
    with first.begin() as conn:
        conn.exec_driver_sql("INSERT INTO quarantine (stage, source, ref, reason, created_at) "
                             "VALUES ('source', 'wms', 'L1', 'qty_invalid', '2025-03-01T00:00:00.000000+00:00')")
    first.close()
    again = Store.open(url_of(path))
    try:
        with again.read() as conn:
            assert conn.exec_driver_sql("SELECT ref FROM quarantine").scalars().all() == ["L1"]
    finally:
        again.close()
    assert versions(path) == [migrate.head()]


def test_upgrade_at_head_changes_nothing(tmp_path):
    path = tmp_path / "state.db"
    Store.open(url_of(path)).close()
    before = digest(path)
    engine = build_engine(url_of(path))
    try:
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
    finally:
        engine.dispose()
    assert digest(path) == before


def test_open_store_with_unknown_revision_raises_schema_version_error(newer_store):
    with pytest.raises(SchemaVersionError, match="'f00dcafe' is unknown to this connector") as caught:
        Store.open(url_of(newer_store))
    assert f"newest known: '{migrate.head()}'" in str(caught.value)


def test_open_store_with_unknown_revision_leaves_it_untouched(newer_store):
    before = digest(newer_store)
    tables = table_names(newer_store)
    with pytest.raises(SchemaVersionError):
        Store.open(url_of(newer_store))
    assert versions(newer_store) == ["f00dcafe"]
    assert table_names(newer_store) == tables
    assert digest(newer_store) == before
    db = sqlite3.connect(newer_store)
    try:
        assert db.execute("SELECT ref FROM quarantine").fetchall() == [("L1",)]
    finally:
        db.close()


def test_upgrade_with_unknown_revision_refuses_before_any_change(newer_store):
    engine = build_engine(url_of(newer_store))
    try:
        with pytest.raises(SchemaVersionError):
            migrate.upgrade(engine)
        assert migrate.current(engine) == "f00dcafe"
    finally:
        engine.dispose()


def test_failed_first_migration_leaves_no_partial_schema(tmp_path):
    """A crash half-way through the first migration must not leave a store that can never open."""
    path = tmp_path / "state.db"
    engine = build_engine(url_of(path))

    def refuse_ledger_entries(dbapi_connection, _record):
        def authorizer(action, arg1, *_):
            if action == sqlite3.SQLITE_CREATE_TABLE and arg1 == "ledger_entries":
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK
        dbapi_connection.set_authorizer(authorizer)

    event.listen(engine, "connect", refuse_ledger_entries)
    try:
        with pytest.raises(Exception, match="not authorized"):
            migrate.upgrade(engine)
    finally:
        engine.dispose()
    store = Store.open(url_of(path))
    try:
        assert migrate.current(store.engine) == migrate.head()
    finally:
        store.close()


def test_upgrade_reports_the_revision_it_found_and_head_only_when_it_changed_the_schema(tmp_path):
    from alembic import command

    from tests.support.migrations import step_to

    engine = build_engine(url_of(tmp_path / "old.db"))
    try:
        step_to(engine, command.upgrade, "0007")
        assert migrate.upgrade(engine) == ("0007", migrate.head())
        assert migrate.upgrade(engine) is None  # at head: nothing done, nothing to report
    finally:
        engine.dispose()
    fresh = build_engine(url_of(tmp_path / "new.db"))
    try:
        assert migrate.upgrade(fresh) == (None, migrate.head())
    finally:
        fresh.dispose()


def test_app_on_an_upgraded_store_logs_what_the_migration_did(tmp_path):
    from alembic import command
    from structlog.testing import capture_logs

    from connector.app import App
    from connector.config.load import load
    from tests.support.migrations import step_to
    from tests.test_daemon import _write_site

    config = _write_site(tmp_path)
    engine = build_engine(url_of(tmp_path / "state.db"))
    step_to(engine, command.upgrade, "0007")
    engine.dispose()
    for expected in ([("0007", migrate.head())], []):  # the second start finds the store at head
        with capture_logs() as logs:
            App(load(config)).close()
        assert [(e["from_revision"], e["to_revision"]) for e in logs if e["event"] == "store_migrated"] == expected
        assert all(isinstance(e["seconds"], float) and "state.db" in e["store"]
                   for e in logs if e["event"] == "store_migrated")
