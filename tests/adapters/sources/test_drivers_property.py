"""The same WMS rows read through either driver give the same movements (hypothesis, real servers).

A site reaches its WMS through SQLAlchemy (psycopg, pymysql, sqlite3) or through unixODBC
(psqlODBC, MariaDB Connector/ODBC, SQLite ODBC); the drivers hand back numerics, times and text as
different Python types, and bind the cursor's values back differently. For random rows —
quantities of up to four decimals and either sign, times with microseconds, 料号 and references in
Chinese, Latin, digits and punctuation, missing optional fields — read in batches of 1 to 5, the
movements, the bad rows and the last cursor one driver gives must be those the other gives.

It found two MariaDB Connector/ODBC faults (adapters/sources/odbc.py): a timestamp parameter lost
its fraction, so a keyset cursor inside a second never moved on; and a value holding a character
such as 盘 lost its last character."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.sources.sql import SqlSource, SqlSourceConfig
from tests.adapters.sources.test_odbc import INSERT, TABLE, need, pg_connect, read_all
from tests.support.wms import QUERY, clock  # noqa: F401

pytestmark = pytest.mark.external_service
START = datetime(2025, 3, 1, 8, 0)
TEXT = st.text(st.sampled_from("铜线笔记本固态硬盘仓ABCxyz0189-_./ #'\"&%"), min_size=1, max_size=12)
row = st.tuples(st.integers(0, 10**6), st.integers(0, 86_400 * 10**6 - 1),  # changed: seconds, microseconds
                st.integers(0, 86_400), TEXT,  # occurred: seconds, sku
                st.decimals(min_value=-10**6, max_value=10**6, places=4, allow_nan=False, allow_infinity=False),
                st.sampled_from(["pcs", "kg", "千克", "箱"]), st.sampled_from(["receipt", "issue", "adjust"]),
                st.none() | TEXT, st.none() | TEXT, st.none() | TEXT)
rows = st.lists(row, min_size=1, max_size=12, unique_by=lambda r: r[0])
PROPERTY_TIMEOUT = pytest.mark.timeout(300)  # a few dozen histories per driver pair
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def values(r: tuple) -> tuple:
    """A generated row as the moves table's columns (times as naive wall-clock text)."""
    key, changed, occurred, sku, qty, uom, kind, doc, lot, location = r
    at = lambda micros: (START + timedelta(microseconds=micros)).isoformat(sep=" ")
    return key, at(changed), at(occurred * 10**6), sku, qty, uom, kind, doc, lot, location


def source(clock, batch_size: int, environ: dict, **where):  # noqa: F811
    data = {"timezone": "Asia/Shanghai", "encoding": "utf-8", "query": QUERY, "batch_size": batch_size,
            "lag_seconds": 0, **where}
    return SqlSource("wms", SqlSourceConfig.model_validate(data, context={"environ": environ}), clock=clock)


def both(clock, batch_size: int, first: dict, second: dict, environ: dict | None = None) -> list:  # noqa: F811
    """What each source gives: its movements, its bad rows (line key, reason) and its last cursor."""
    out = []
    for where in (first, second):
        src = source(clock, batch_size, environ or {}, **where)
        try:
            movements, errors, cursor = read_all(src, batch_size)
        finally:
            src.close()
        out.append((movements, sorted((e.line_key, e.reason) for e in errors), cursor))
    return out


@pytest.fixture(scope="module")
def pg_server_db(postgres):
    need("PostgreSQL Unicode")
    db = postgres.create_database()
    yield db
    postgres.drop_database(db.name)


@PROPERTY_TIMEOUT
@PROPERTY
@given(found=rows, batch_size=st.integers(1, 5))
def test_psycopg_and_psqlodbc_read_the_same_movements(pg_server_db, clock, found, batch_size):  # noqa: F811
    with pg_server_db.connect(autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS moves")
        conn.execute(TABLE)
        for r in found:
            conn.execute(INSERT, values(r))
    secret = {"password": "${PW}"}
    first, second = both(clock, batch_size, {"url": pg_server_db.url, **secret},
                         {"odbc": pg_connect(pg_server_db), **secret}, environ={"PW": pg_server_db.password})
    assert first == second


@PROPERTY_TIMEOUT
@PROPERTY
@given(found=rows, batch_size=st.integers(1, 5))
def test_sqlite3_and_sqlite_odbc_read_the_same_movements(tmp_path_factory, clock, found, batch_size):  # noqa: F811
    need("SQLite3")
    path = tmp_path_factory.mktemp("wms") / "wms.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE moves (line_key integer, changed_at text, occurred_at text, sku text, qty real, "
               "uom text, movement_type text, doc_ref text, lot text, location text)")
    db.executemany("INSERT INTO moves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(*v[:4], float(v[4]), *v[5:]) for v in map(values, found)])
    db.commit()
    db.close()
    first, second = both(clock, batch_size, {"url": f"sqlite:///{path}"},
                         {"odbc": f"Driver={{SQLite3}};Database={path}"})
    assert first == second
    assert all(isinstance(m.qty, Decimal) for m in first[0])


@pytest.fixture(scope="module")
def maria_db(mariadb):
    need("MariaDB Unicode")
    db = mariadb.create_database()
    yield db
    mariadb.drop_database(db.name)


@PROPERTY_TIMEOUT
@PROPERTY
@given(found=rows, batch_size=st.integers(1, 5))
def test_pymysql_and_mariadb_odbc_read_the_same_movements(maria_db, clock, found, batch_size):  # noqa: F811
    with maria_db.connect() as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS moves")
        cur.execute(TABLE.replace("timestamp", "datetime(6)") + " CHARACTER SET utf8mb4")
        cur.executemany(INSERT, list(map(values, found)))
        conn.commit()
    odbc = (f"Driver={{MariaDB Unicode}};Server={maria_db.host};Port={maria_db.port};Database={maria_db.name};"
            f"Uid={maria_db.user}")
    secret = {"password": "${PW}"}
    first, second = both(clock, batch_size, {"url": maria_db.url, **secret}, {"odbc": odbc, **secret},
                         environ={"PW": maria_db.password})
    assert first == second
