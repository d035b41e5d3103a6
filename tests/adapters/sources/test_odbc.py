"""The raw pyodbc path through unixODBC against real servers: psqlODBC, MariaDB ODBC, SQLite ODBC."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import pyodbc
import pytest

from adapters.sources import odbc
from adapters.sources.sql import SqlSource, SqlSourceConfig
from connector.errors import RetryableSourceError
from tests.support.wms import NOW, QUERY, clock  # noqa: F401

pytestmark = pytest.mark.external_service
DRIVERS = set(pyodbc.drivers())
TABLE = ("CREATE TABLE moves (line_key bigint, changed_at timestamp, occurred_at timestamp, sku varchar(40), "
         "qty numeric(18,4), uom varchar(10), movement_type varchar(20), doc_ref varchar(40), lot varchar(40), "
         "location varchar(40))")
ROWS = [(n, f"2025-03-01 09:00:0{n // 3}", "2025-03-01 08:00:00", "SKU-1", "1.25", "pcs", "receipt", f"D{n}",
         None, None) for n in range(1, 8)]  # three rows per timestamp: batch edges fall inside a timestamp
INSERT = "INSERT INTO moves VALUES (%s)" % ", ".join(["%s"] * 10)
OLD_TIME = "2025-03-01 09:00:00"


def need(driver: str) -> None:
    if driver not in DRIVERS:
        pytest.skip(f"ODBC driver {driver!r} not installed (scripts/sysdeps.sh installs it)")


def source(clock, connect: str, password: str | None = None, **fields):  # noqa: F811
    data = {"odbc": connect, "timezone": "Asia/Shanghai", "encoding": "utf-8", "query": QUERY, "batch_size": 2,
            "lag_seconds": 0, **fields}
    if password is not None:
        data["password"] = "${PW}"
    config = SqlSourceConfig.model_validate(data, context={"environ": {"PW": password or ""}})
    return SqlSource("wms", config, clock=clock)


def read_all(src, batch_size: int = 2):
    movements, errors, cursor = [], [], None
    for _ in range(50):
        batch = src.fetch(cursor, batch_size)
        movements += batch.movements
        errors += batch.errors
        cursor = batch.cursor
        if batch.exhausted:
            return movements, errors, cursor
    raise AssertionError("never exhausted")


def pg_connect(db) -> str:
    return f"Driver={{PostgreSQL Unicode}};Server={db.host};Port={db.port};Database={db.name};Uid={db.user}"


@pytest.fixture
def pg_moves(fresh_pg_db):
    need("PostgreSQL Unicode")
    with fresh_pg_db.connect(autocommit=True) as conn:
        conn.execute(TABLE)
        for row in ROWS:
            conn.execute(INSERT, row)
    return fresh_pg_db


@pytest.fixture
def maria_moves(mariadb):
    need("MariaDB Unicode")
    db = mariadb.create_database()
    with db.connect() as conn, conn.cursor() as cur:
        cur.execute(TABLE.replace("timestamp", "datetime"))
        cur.executemany(INSERT, ROWS)
        conn.commit()
    yield db
    mariadb.drop_database(db.name)


def test_connection_string_for_psqlodbc_gets_declare_fetch_and_batch_size_from_the_adapter():
    built = odbc.connection_string("Driver={PostgreSQL Unicode};Server=h;UseDeclareFetch=0;Fetch=1000000",
                                   "p;w", 500)
    assert odbc.parse(built) == {"driver": "PostgreSQL Unicode", "server": "h", "pwd": "p;w",
                                 "usedeclarefetch": "1", "fetch": "500",
                                 "connsettings": "SET statement_timeout = 120000"}


def test_connection_string_for_other_drivers_gets_no_psqlodbc_keys():
    assert "UseDeclareFetch" not in odbc.connection_string("Driver={MariaDB Unicode};Server=h", None, 500)


def test_config_odbc_string_with_password_is_refused():
    with pytest.raises(ValueError, match="connection string holds a password"):
        SqlSourceConfig.model_validate({"odbc": "Driver={SQLite3};Database=x;PWD=secret", "timezone": "UTC",
                                        "encoding": "utf-8", "query": QUERY})


def test_config_odbc_dialect_is_guessed_from_the_driver_or_required():
    base = {"timezone": "UTC", "encoding": "utf-8", "query": QUERY}
    assert SqlSourceConfig.model_validate({**base, "odbc": "Driver={MariaDB Unicode}"}).dialect_name() == "mysql"
    with pytest.raises(ValueError, match="set odbc_dialect"):
        SqlSourceConfig.model_validate({**base, "odbc": "DSN=wms"})


def test_psqlodbc_keyset_batches_lose_no_row_at_equal_timestamps(pg_moves, clock):  # noqa: F811
    src = source(clock, pg_connect(pg_moves), pg_moves.password)
    try:
        movements, errors, cursor = read_all(src)
        assert [m.line_key for m in movements] == [str(n) for n in range(1, 8)] and errors == []
        assert movements[0].qty == Decimal("1.2500")
        assert movements[0].changed_at == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)  # Shanghai wall clock -> UTC
        assert src.fetch(cursor, 2).movements == []
        assert "pg" not in src.describe().lower().split("pwd")[-1] and pg_moves.password not in src.describe()
    finally:
        src.close()


def test_psqlodbc_query_timeout_raises_retryable_error(pg_moves, clock):  # noqa: F811
    src = source(clock, pg_connect(pg_moves), pg_moves.password, query_timeout_seconds=1,
                 query=QUERY + " WHERE pg_sleep(3) IS NOT NULL")
    try:
        with pytest.raises(RetryableSourceError, match="query failed"):
            src.fetch(None, 2)
    finally:
        src.close()


def test_mariadb_odbc_keyset_batches_lose_no_row_at_equal_timestamps(maria_moves, clock):  # noqa: F811
    connect = (f"Driver={{MariaDB Unicode}};Server={maria_moves.host};Port={maria_moves.port};"
               f"Database={maria_moves.name};Uid={maria_moves.user}")
    src = source(clock, connect, maria_moves.password)
    try:
        movements, errors, _ = read_all(src)
        assert [m.line_key for m in movements] == [str(n) for n in range(1, 8)] and errors == []
        assert movements[-1].qty == Decimal("1.2500")
    finally:
        src.close()


@pytest.fixture
def sqlite_moves(tmp_path):
    need("SQLite3")
    path = tmp_path / "wms.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE moves (line_key integer, changed_at text, occurred_at text, sku text, qty real, "
               "uom text, movement_type text, doc_ref text, lot text, location text)")
    db.executemany("INSERT INTO moves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(*row[:4], 0.1 if row[0] == 1 else 2.675, *row[5:]) for row in ROWS])
    db.commit()
    db.close()
    return path


def test_sqlite_odbc_float_and_text_time_are_decoded_exactly(sqlite_moves, clock):  # noqa: F811
    src = source(clock, f"Driver={{SQLite3}};Database={sqlite_moves}")
    try:
        movements, errors, _ = read_all(src)
        assert [m.line_key for m in movements] == [str(n) for n in range(1, 8)] and errors == []
        assert (movements[0].qty, movements[1].qty) == (Decimal("0.1"), Decimal("2.675"))
        assert movements[0].occurred_at == datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
    finally:
        src.close()


def test_sqlite_odbc_gbk_text_is_decoded_with_the_source_encoding(tmp_path, clock):  # noqa: F811
    need("SQLite3")
    path = tmp_path / "gbk.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE moves (line_key, changed_at, occurred_at, sku, qty, uom, movement_type, doc_ref, "
               "lot, location)")
    db.execute("INSERT INTO moves VALUES (1, '2025-03-01 09:00:00', '2025-03-01 09:00:00', ?, 1, ?, 'receipt', "
               "'D1', NULL, NULL)", ("铜线".encode("gbk"), "千克".encode("gbk")))
    db.commit()
    db.close()
    src = source(clock, f"Driver={{SQLite3}};Database={path}", encoding="gbk")
    try:
        [movement] = src.fetch(None, 10).movements
        assert (movement.sku, movement.uom) == ("铜线", "千克")
    finally:
        src.close()


def test_odbc_login_to_a_closed_port_raises_retryable_error(clock):  # noqa: F811
    need("PostgreSQL Unicode")
    from tests.support.postgres import free_port

    src = source(clock, f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={free_port()};Database=x;Uid=u",
                 "pw", connect_timeout_seconds=2)
    try:
        started = datetime.now(UTC)
        with pytest.raises(RetryableSourceError):
            src.fetch(None, 2)
        assert (datetime.now(UTC) - started).total_seconds() < 10
    finally:
        src.close()


def test_mssql_and_oracle_odbc_dialects_compile_the_keyset_statement(clock):  # noqa: F811
    for driver, expected in (("ODBC Driver 18 for SQL Server", "TOP"), ("Oracle 21 ODBC driver", "FETCH FIRST")):
        config = SqlSourceConfig.model_validate({"odbc": f"Driver={{{driver}}};Server=h", "timezone": "UTC",
                                                 "encoding": "utf-8", "query": QUERY})
        src = SqlSource("wms", config, clock=clock)
        stmt = src.statement({"changed_at": datetime(2025, 3, 1), "line_key": 7}, 100)
        sql = str(stmt.compile(dialect=src.dialect, compile_kwargs={"render_postcompile": True}))
        assert expected in sql and "?" in sql


@pytest.mark.parametrize("profile", ["odoo17", "modernwms", "greaterwms"])
def test_profiles_generated_sql_compiles_for_mssql_and_oracle(clock, profile):  # noqa: F811
    for driver, expected in (("ODBC Driver 18 for SQL Server", "TOP"), ("Oracle 21 ODBC driver", "FETCH FIRST")):
        config = SqlSourceConfig.model_validate({"odbc": f"Driver={{{driver}}};Server=h", "profile": profile})
        src = SqlSource("wms", config, clock=clock)
        for stmt in (src.statement(None, 100), src.statement({k: 1 for k in src.strategy.keys}, 100),
                     src.strategy.newest(src._rows()), src.unkeyed_statement(10)):
            sql = str(stmt.compile(dialect=src.dialect, compile_kwargs={"render_postcompile": True}))
            assert "movements" in sql and "%%" not in sql
        assert expected in str(src.statement(None, 100).compile(dialect=src.dialect,
                                                                 compile_kwargs={"render_postcompile": True}))


def maria_read(mariadb, clock, table: str, rows: list[tuple], batch_size: int = 10,  # noqa: F811
               extra: str = "", **fields) -> list:
    """The movements a MariaDB ODBC source reads from a fresh database holding `rows` in `table`."""
    need("MariaDB Unicode")
    db = mariadb.create_database()
    try:
        with db.connect() as conn, conn.cursor() as cur:
            cur.execute(table)
            cur.executemany(INSERT, rows)
        connect = f"Driver={{MariaDB Unicode}};Server={db.host};Port={db.port};Database={db.name};Uid={db.user}"
        src = source(clock, connect + extra, db.password, **fields)
        try:
            movements, errors, _ = read_all(src, batch_size)
        finally:
            src.close()
        assert errors == []
        return movements
    finally:
        mariadb.drop_database(db.name)


def test_mariadb_odbc_keyset_moves_past_rows_within_one_second(mariadb, clock):  # noqa: F811
    """Connector/ODBC drops a timestamp parameter's fraction: the cursor must still move on."""
    rows = [(n, f"2025-03-01 09:00:00.{n}00000", *ROWS[0][2:]) for n in (7, 8, 9)]
    movements = maria_read(mariadb, clock, TABLE.replace("timestamp", "datetime(6)"), rows, batch_size=1)
    assert [m.line_key for m in movements] == ["7", "8", "9"]


def test_mariadb_odbc_reads_text_with_a_surrogate_looking_character_whole(mariadb, clock):  # noqa: F811
    """盘 (U+76D8) in UTF-16 made Connector/ODBC 3.1 cut the value's last character."""
    row = (1, OLD_TIME, OLD_TIME, "硬盘1", "1", "托盘", "receipt", "托盘A", None, None)
    [movement] = maria_read(mariadb, clock, TABLE + " CHARACTER SET utf8mb4", [row])
    assert (movement.sku, movement.uom, movement.doc_ref) == ("硬盘1", "托盘", "托盘A")


def test_mariadb_odbc_gbk_columns_arrive_whole_whatever_the_sources_encoding(mariadb, clock):  # noqa: F811
    """The server converts a GBK column to the utf8mb4 the adapter asks for (CHARSET)."""
    row = (1, OLD_TIME, OLD_TIME, "铜线托盘A", "1", "千克", "receipt", "硬盘1", None, None)
    [movement] = maria_read(mariadb, clock, TABLE + " CHARACTER SET gbk", [row], extra=";CHARSET=latin1",
                            encoding="gbk")
    assert (movement.sku, movement.uom, movement.doc_ref) == ("铜线托盘A", "千克", "硬盘1")


def test_bound_params_for_mysql_carry_naive_times_as_text_with_microseconds_and_leave_the_rest():
    naive, aware = datetime(2025, 3, 1, 9, 0, 0, 700000), datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
    assert odbc.bound("mysql", (naive, aware, 7, "L1")) == ("2025-03-01 09:00:00.700000", aware, 7, "L1")
    assert odbc.bound("postgresql", (naive,)) == (naive,)


def test_connection_string_for_mariadb_gets_the_utf8mb4_charset_from_the_adapter():
    built = odbc.connection_string("Driver={MariaDB Unicode};Server=h;CHARSET=latin1", None, 500)
    assert built.count("CHARSET") == 1 and built.endswith("CHARSET=utf8mb4;")
