"""The raw pyodbc path of the SQL source: an ODBC connection string through unixODBC.

`odbc = "Driver={PostgreSQL Unicode};Server=wms;Port=5432;Database=wms;Uid=reader"` replaces
`url`; the password (a secret reference) is appended as `Pwd=`. The SQL is compiled with the
SQLAlchemy dialect of the database behind the driver (`odbc_dialect`, or guessed from the driver
name) with `?` parameters, and run on a plain pyodbc cursor.

The adapter, not the operator, sets what decides memory and time:
- psqlODBC: `UseDeclareFetch=1;Fetch=<batch_size>` (a server cursor read in batch-sized chunks,
  instead of the whole result in client memory), always appended after the operator's keys;
- the login timeout (`connect_timeout_seconds`) and the statement timeout (`query_timeout_seconds`,
  SQL_ATTR_QUERY_TIMEOUT);
- the text encoding: narrow (SQL_CHAR) columns are decoded in the source's `encoding` (GBK sites);
  wide columns are UTF-16 by the ODBC standard.
SQLite ODBC returns numbers as float and times as text: the decoder turns a float into Decimal
through its shortest repr and parses the text in the source's zone (`_decode.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects.mssql.base import MSDialect
from sqlalchemy.dialects.mysql.base import MySQLDialect
from sqlalchemy.dialects.oracle.base import OracleDialect
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.engine import Dialect

DIALECTS = {"postgresql": PGDialect, "mysql": MySQLDialect, "sqlite": SQLiteDialect, "mssql": MSDialect,
            "oracle": OracleDialect}
GUESS = (("postgres", "postgresql"), ("maria", "mysql"), ("mysql", "mysql"), ("sqlite", "sqlite"),
         ("sql server", "mssql"), ("freetds", "mssql"), ("oracle", "oracle"))


def parse(connect: str) -> dict[str, str]:
    """`Key=Value;...` (values in {braces} may hold ';') -> {lower-case key: value}."""
    pairs: dict[str, str] = {}
    rest = connect.strip()
    while rest:
        key, _, rest = rest.partition("=")
        if rest.startswith("{"):
            value, rest = _braced(rest)
        else:
            value, _, rest = rest.partition(";")
        if key.strip():
            pairs[key.strip().lower()] = value.strip()
        rest = rest.strip()
    return pairs


def _braced(text: str) -> tuple[str, str]:
    """`{va}}l;ue};rest` -> ('va}l;ue', 'rest'): inside braces `}}` is a literal brace."""
    i, value = 1, []
    while i < len(text):
        if text[i] == "}" and text[i + 1:i + 2] == "}":
            value.append("}")
            i += 2
        elif text[i] == "}":
            return "".join(value), text[i + 1:].partition(";")[2]
        else:
            value.append(text[i])
            i += 1
    return "".join(value), ""


def guess_dialect(connect: str) -> str | None:
    driver = parse(connect).get("driver", "").lower()
    return next((name for hint, name in GUESS if hint in driver), None)


def dialect(name: str) -> Dialect:
    """The dialect used to compile (never to connect), with pyodbc's qmark parameters."""
    return DIALECTS[name](paramstyle="qmark")


def is_psqlodbc(connect: str) -> bool:
    return "postgres" in parse(connect).get("driver", "").lower()


def connection_string(connect: str, password: str | None, batch_size: int, query_timeout: int = 120,
                      dialect_name: str = "") -> str:
    """The operator's string + the password + the settings the adapter owns (given by the operator,
    they are replaced, not duplicated). psqlODBC refuses the connection-level timeout attribute, so
    its statement timeout is set by the server (`ConnSettings`). MySQL and MariaDB: the server
    sends every text as utf8mb4 (`CHARSET`), converted from each column's own character set, and
    `connect` decodes it as UTF-8."""
    psql, mysql = is_psqlodbc(connect), (dialect_name or guess_dialect(connect)) == "mysql"
    owned = {"pwd", "password"} | ({"usedeclarefetch", "fetch", "connsettings"} if psql else set()) | (
        {"charset"} if mysql else set())
    kept = [f"{k}={_quoted(v)}" for k, v in parse(connect).items() if k not in owned]
    if password is not None:
        kept.append(f"Pwd={_quoted(password)}")
    if psql:
        kept += ["UseDeclareFetch=1", f"Fetch={batch_size}",
                 f"ConnSettings={{SET statement_timeout = {query_timeout * 1000}}}"]
    if mysql:
        kept.append("CHARSET=utf8mb4")
    return ";".join(kept) + ";"


def _quoted(value: str) -> str:
    return "{" + value.replace("}", "}}") + "}" if any(c in value for c in ";{}= ") else value


def connect(connect_string: str, *, encoding: str, login_timeout: int, query_timeout: int,
            dialect_name: str = "") -> Any:
    """An open pyodbc connection with the source's text decoding and timeouts applied. MySQL and
    MariaDB: all text is fetched as the utf8mb4 bytes the server sends (`connection_string`), wide
    text too: MariaDB Connector/ODBC 3.1 cuts the last character off a UTF-16 value holding a
    character whose code unit it takes for the start of a surrogate pair (U+xxD8–U+xxDB, e.g. 盘
    in 硬盘 or 托盘): 托盘A came back as 托盘."""
    import pyodbc

    conn = pyodbc.connect(connect_string, timeout=login_timeout, autocommit=False)
    if not is_psqlodbc(connect_string):  # psqlODBC: statement_timeout in ConnSettings instead
        conn.timeout = query_timeout
    if dialect_name == "mysql":
        conn.setdecoding(pyodbc.SQL_CHAR, encoding="utf-8")
        conn.setdecoding(pyodbc.SQL_WCHAR, encoding="utf-8", ctype=pyodbc.SQL_CHAR)
    else:
        conn.setdecoding(pyodbc.SQL_CHAR, encoding=encoding)
    return conn


def bound(dialect_name: str, params: Any) -> Any:
    """The statement's parameters as this driver must bind them. MariaDB Connector/ODBC drops the
    fraction of a timestamp parameter: a keyset cursor at 08:00:00.7 came back as 08:00:00, so a
    batch of rows within one second was read again and again and the sync never moved on. For
    MySQL and MariaDB a time travels as its text with microseconds, which the server compares with
    a DATETIME(n) column exactly."""
    if dialect_name != "mysql" or not params:
        return params
    return tuple(p.isoformat(sep=" ", timespec="microseconds") if isinstance(p, datetime) and p.tzinfo is None
                 else p for p in params)


def describe(connect_string: str) -> str:
    """The connection string without any password, for logs and `connector check`."""
    return ";".join(f"{k}={v}" for k, v in parse(connect_string).items() if k not in ("pwd", "password"))


def errors() -> tuple[type[Exception], ...]:
    import pyodbc

    return (pyodbc.Error,)
