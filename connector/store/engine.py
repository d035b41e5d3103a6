"""The store session seam: open, migrate, and hand out read and write transactions.

SQLite (the embedded default) runs in WAL mode with synchronous=FULL; pysqlite's own transaction
handling is switched off so writers take `BEGIN IMMEDIATE` and never deadlock on a lock upgrade.
PostgreSQL is used by URL with the same code path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from connector.config.secrets import Secret
from connector.errors import StoreError
from connector.store import migrate
from connector.store.types import json_text


class Store:
    """The state store: one engine, schema at the version this connector knows."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.busy_timeout = 30  # seconds a SQLite writer waits for the lock (Store.open sets it)
        self.migrated: dict | None = None  # what Store.open's migration did: from, to, seconds

    @classmethod
    def open(cls, url: str, *, password: Secret | None = None, busy_timeout: int = 30) -> Store:
        store = cls(build_engine(url, password=password, busy_timeout=busy_timeout))
        store.busy_timeout = busy_timeout
        try:
            if store.is_sqlite:
                store._check_integrity()
            started = time.monotonic()
            if changed := migrate.upgrade(store.engine):
                store.migrated = {"from_revision": changed[0], "to_revision": changed[1],
                                  "seconds": round(time.monotonic() - started, 1)}
        except BaseException:
            store.close()
            raise
        return store

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction: committed on normal exit, rolled back on an exception."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    _rollback_if_open(conn)
                    raise
                conn.exec_driver_sql("COMMIT")
            else:
                with conn.begin():
                    yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot (no write lock taken)."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn.exec_driver_sql("BEGIN")
                try:
                    yield conn
                finally:
                    conn.exec_driver_sql("ROLLBACK")
            else:
                with conn.begin():
                    yield conn

    def _check_integrity(self) -> None:
        try:
            with self.engine.connect() as conn:
                result = conn.exec_driver_sql("PRAGMA quick_check").scalar()
        except DBAPIError as exc:
            raise StoreError(f"{self.describe()} is not a usable SQLite database: {exc.orig}") from None
        if result != "ok":
            raise StoreError(f"state store failed its integrity check: {result}; restore it from backup")

    def describe(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()


def _rollback_if_open(conn: Connection) -> None:
    """SQLite may have rolled back by itself (disk full, I/O error): then there is nothing to undo,
    and a ROLLBACK would raise and hide the error that matters."""
    if conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("ROLLBACK")


def build_engine(url: str, *, password: Secret | None = None, busy_timeout: int = 30) -> Engine:
    parsed = make_url(url)
    if password is not None:
        parsed = parsed.set(password=password.reveal())
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, json_serializer=json_text)
    engine = create_engine(parsed, connect_args={"timeout": busy_timeout, "isolation_level": None},
                           json_serializer=json_text)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
