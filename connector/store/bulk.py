"""Inserting many rows through the driver: on SQLite, many rows per statement.

`executemany` steps one statement per row: SQLite resets it, Python's driver walks the row and
binds its values, for each of tens of thousands of rows. One INSERT with a few hundred rows in its
VALUES list binds the same values but steps once: a movement revision (11 values, a unique index)
costs 5.8–6.5 µs of CPU a row instead of 8.7–9.8 (200,000 rows into a WAL store, synchronous=FULL).
The statement is built once per batch; a batch's last, shorter part gets its own. PostgreSQL keeps
`executemany`, which psycopg 3 already pipelines. Wide rows gain little: the comparator's new
discrepancies (21 values a row) took 0.384 s this way against 0.397 s, so they keep `executemany`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import chain

from sqlalchemy import Connection

ROWS_PER_STATEMENT = 500  # more gains nothing measurable (500: 5.8 µs a row, 900: 6.1)


def insert_rows(conn: Connection, head: str, row: str, rows: Sequence[tuple]) -> None:
    """Run `head` + VALUES `row` for every tuple of `rows` (`row` is the parenthesized placeholders,
    with any SQL literals beside them); on SQLite as statements of many rows each."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(f"{head} VALUES {row}", list(rows))
        return
    per = _rows_per_statement(conn, len(rows[0]))
    full = _statement(head, row, per)
    for start in range(0, len(rows), per):
        part = rows[start:start + per]
        sql = full if len(part) == per else _statement(head, row, len(part))
        conn.exec_driver_sql(sql, tuple(chain.from_iterable(part)))


def _statement(head: str, row: str, count: int) -> str:
    return f"{head} VALUES {', '.join([row] * count)}"


def _rows_per_statement(conn: Connection, width: int) -> int:
    """ROWS_PER_STATEMENT, fewer when this SQLite binds fewer values to one statement."""
    limit = conn.connection.dbapi_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(ROWS_PER_STATEMENT, limit // max(width, 1)))
