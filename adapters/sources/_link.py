"""How the SQL source reaches its database: a SQLAlchemy engine, or a raw pyodbc connection.

Both compile SQLAlchemy statements with the dialect of the database and run them on a plain DBAPI
cursor, returning the driver's own tuples: a sync reads millions of rows, and SQLAlchemy's per-row
result processing cost more than the read itself. Every movement statement has a LIMIT of one
batch, so a batch is the most a run holds in memory (psqlODBC additionally reads through a
server-side cursor, `odbc.py`).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from adapters.sources import odbc
from adapters.sources._config import SqlSourceConfig, build_engine


class Link:
    dialect: Dialect
    errors: tuple[type[Exception], ...]

    def rows(self, statement) -> tuple[tuple[str, ...], list[tuple]]:
        """Run one statement; its column names (lower case: Oracle reports unquoted aliases in upper
        case) and rows."""
        compiled = statement.compile(dialect=self.dialect, compile_kwargs={"render_postcompile": True})
        params: Any = compiled.construct_params()
        if self.dialect.positional:
            params = tuple(params[k] for k in compiled.positiontup or ())
        return self._run(str(compiled), params)

    def _run(self, sql: str, params: Any) -> tuple[tuple[str, ...], list[tuple]]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class EngineLink(Link):
    """A SQLAlchemy URL: pooled connections, per-dialect timeouts (`_config.build_engine`)."""

    def __init__(self, config: SqlSourceConfig, engine: Engine | None = None):
        self.engine = engine or build_engine(config)
        self.dialect = self.engine.dialect
        self.errors = (DBAPIError, SQLAlchemyError, self.dialect.loaded_dbapi.Error)
        self.url = config.url

    def _run(self, sql: str, params: Any) -> tuple[tuple[str, ...], list[tuple]]:
        conn = self.engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(sql, params)
                return tuple(d[0].lower() for d in cursor.description), cursor.fetchall()
            finally:
                cursor.close()
        finally:
            conn.close()  # back to the pool, which rolls the read transaction back

    def describe(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()


class OdbcLink(Link):
    """An ODBC connection string: one pyodbc connection, reopened after any error."""

    def __init__(self, config: SqlSourceConfig):
        self.config = config
        self.dialect = odbc.dialect(config.dialect_name())
        self.errors = odbc.errors()
        password = config.password.reveal() if config.password is not None else None
        self._connect = odbc.connection_string(config.odbc, password, config.batch_size, config.query_timeout_seconds,
                                               self.dialect.name)
        self._conn = None
        self._lock = threading.Lock()  # the daemon's sync and reconcile jobs share the adapter

    def _run(self, sql: str, params: Any) -> tuple[tuple[str, ...], list[tuple]]:
        with self._lock:
            try:
                conn = self._conn = self._conn or odbc.connect(
                    self._connect, encoding=self.config.encoding, login_timeout=self.config.connect_timeout_seconds,
                    query_timeout=self.config.query_timeout_seconds, dialect_name=self.dialect.name)
                params = odbc.bound(self.dialect.name, params)
                cursor = conn.execute(sql, params) if params else conn.execute(sql)
                names = tuple(d[0].lower() for d in cursor.description)
                rows = cursor.fetchall()
                cursor.close()
                conn.rollback()  # end the read transaction (psqlODBC's declared cursor lives in one)
                return names, rows
            except BaseException:
                self._drop()
                raise

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except self.errors:
                pass

    def describe(self) -> str:
        return f"ODBC {odbc.describe(self.config.odbc)}"

    def close(self) -> None:
        with self._lock:
            self._drop()


def link(config: SqlSourceConfig, engine: Engine | None = None) -> Link:
    return OdbcLink(config) if config.odbc else EngineLink(config, engine)
