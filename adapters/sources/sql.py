"""Generic SQL source: a movement query over any SQLAlchemy URL, read by a (timestamp, key) cursor.

The site's query (or a profile's) must return the columns of `_decode.REQUIRED` (+ optional lot,
location). The adapter wraps it as a subquery and reads keyset batches ordered by
(changed_at, line_key). Rows whose changed_at is not older than `now - lag_seconds` are left for a
later run, so a WMS transaction still open cannot commit a row behind the cursor. The cursor
stores the raw values the driver returned, and binds them back unchanged, so a text timestamp in
SQLite or a datetime in PostgreSQL compare exactly as the database compares them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from sqlalchemy import Engine, and_, column, create_engine, or_, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from adapters.sources._decode import OPTIONAL, REQUIRED, decode_row, jsonable, row_ref, to_aware
from connector.abc import SourceAdapter
from connector.clock import Clock, SystemClock
from connector.config.schema import Strict, check_encoding, check_timezone
from connector.config.secrets import Secret
from connector.errors import BadInputError, FatalSourceError, RetryableSourceError
from connector.model import Batch, Movement, SourceRowError


class SqlSourceConfig(Strict):
    url: str = Field(min_length=1, description="SQLAlchemy URL, without the password")
    password: Secret | None = None
    timezone: str = Field(description="zone of the WMS's naive timestamps (no default)")
    encoding: str = Field(description="text encoding of the WMS (utf-8, gbk, ...)")
    query: str = Field(min_length=1, description="SELECT returning the movement columns")
    batch_size: int = Field(default=5000, ge=1, le=100_000)
    lag_seconds: int = Field(default=300, ge=0, description="leave rows younger than this for later")
    future_skew_seconds: int = Field(default=3600, ge=0, description="rows stamped later than now + this are "
                                     "staged and flagged, but never move the cursor")
    connect_timeout_seconds: int = Field(default=15, ge=1)
    query_timeout_seconds: int = Field(default=120, ge=1)

    _tz = field_validator("timezone")(check_timezone)
    _enc = field_validator("encoding")(check_encoding)

    @field_validator("url")
    @classmethod
    def _no_literal_password(cls, value: str) -> str:
        if make_url(value).password is not None:
            raise ValueError("the URL holds a password; remove it and set password = \"${ENV_VAR}\" instead")
        return value

    @field_validator("query")
    @classmethod
    def _single_select(cls, value: str) -> str:
        body = value.strip().rstrip(";").strip()
        if ";" in body or not body.lower().startswith(("select", "with")):
            raise ValueError("query must be a single SELECT (or WITH ... SELECT) statement")
        return body


class SqlSource(SourceAdapter):
    Config = SqlSourceConfig

    def __init__(self, name: str, config: SqlSourceConfig, clock: Clock | None = None, engine: Engine | None = None):
        self.name = name
        self.config = config
        self.zone = ZoneInfo(config.timezone)
        self.clock = clock or SystemClock()
        self.engine = engine or build_engine(config)
        self.columns: tuple[str, ...] = REQUIRED + OPTIONAL  # narrowed to what the query returns on first use

    def _rows(self):
        return text(self.config.query).columns(*(column(c) for c in self.columns)).subquery("movements")

    def statement(self, cursor: dict[str, Any] | None, limit: int):
        """The keyset query: keyed rows after the cursor, oldest first, at most `limit`."""
        rows = self._rows()
        q = rows.c
        stmt = (select(rows).where(q.changed_at.is_not(None), q.line_key.is_not(None))
                .order_by(q.changed_at, q.line_key).limit(limit))
        if cursor:
            ts, key = cursor["changed_at"], cursor["line_key"]
            stmt = stmt.where(or_(q.changed_at > ts, and_(q.changed_at == ts, q.line_key > key)))
        return stmt

    def unkeyed_statement(self, limit: int):
        """Rows a keyset cursor can never reach (NULL changed_at or line_key): reported, not lost."""
        rows = self._rows()
        return select(rows).where(or_(rows.c.changed_at.is_(None), rows.c.line_key.is_(None))).limit(limit)

    def fetch(self, cursor: dict[str, Any] | None, limit: int) -> Batch:
        rows = self._query(lambda: self.statement(cursor, limit))
        now = self.clock.now()
        upper = now - timedelta(seconds=self.config.lag_seconds)
        future = now + timedelta(seconds=self.config.future_skew_seconds)
        movements: list[Movement] = []
        errors: list[SourceRowError] = []
        for row in rows:
            stamp = self._stamp(row["changed_at"])
            if stamp is not None and stamp >= upper:
                if stamp > future:  # B5 #16: staged now, but the cursor never passes the signpost
                    self._decode_into(row, movements, errors, future_stamp=True)
                    continue
                return Batch(movements, errors, cursor, exhausted=True)
            self._decode_into(row, movements, errors)
            cursor = {"changed_at": row["changed_at"], "line_key": row["line_key"]}
        return Batch(movements, errors, cursor, exhausted=len(rows) < limit or any(
            m.extra.get("future_timestamp") for m in movements))

    def fetch_unkeyed(self, limit: int = 1000) -> list[SourceRowError]:
        """Rows without a cursor value, as quarantine entries (reason cursor_value_missing)."""
        rows = self._query(lambda: self.unkeyed_statement(limit))
        return [SourceRowError(self.name, _ref(row), "cursor_value_missing",
                               "changed_at or line_key is NULL: the cursor cannot reach this row", jsonable(row))
                for row in rows]

    def _decode_into(self, row: dict[str, Any], movements: list, errors: list, future_stamp: bool = False) -> None:
        decoded = decode_row(self.name, row, self.zone, self.config.encoding)
        if isinstance(decoded, Movement):
            if future_stamp:
                decoded = replace(decoded, extra={**decoded.extra, "future_timestamp": True})
            movements.append(decoded)
        else:
            errors.append(decoded)

    def _stamp(self, raw_ts: Any):
        try:
            return to_aware(raw_ts, self.zone, "changed_at")
        except BadInputError:  # an unreadable timestamp is decoded (and quarantined) like any bad row
            return None

    def _query(self, build) -> list[dict[str, Any]]:
        try:
            with self.engine.connect() as conn:
                self._discover(conn)
                result = conn.execution_options(stream_results=True).execute(build())
                return [dict(r._mapping) for r in result]
        except (DBAPIError, SQLAlchemyError) as exc:
            detail = getattr(exc, "orig", None) or exc
            raise RetryableSourceError(f"source {self.name}: query failed: {type(detail).__name__}: {detail}") from None

    def _discover(self, conn) -> None:
        """Learn once which optional columns the query returns; a missing required one is fatal."""
        if getattr(self, "_discovered", False):
            return
        names = set(conn.execute(text(f"SELECT * FROM ({self.config.query}) discover WHERE 1 = 0")).keys())
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise FatalSourceError(f"source {self.name}: the query does not return the column(s) {', '.join(missing)}")
        self.columns = REQUIRED + tuple(c for c in OPTIONAL if c in names)
        self._discovered = True

    def check(self) -> str:
        self._query(lambda: self.statement(None, 1))
        return f"query ok on {self.describe()}"

    def describe(self) -> str:
        return make_url(self.config.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()


def _ref(row: dict[str, Any]) -> str:
    key = row.get("line_key")
    return str(key) if key is not None and str(key).strip() else row_ref(row)


def build_engine(config: SqlSourceConfig) -> Engine:
    """The engine factory seam: per-dialect login and query timeouts, password injected here."""
    url = make_url(config.url)
    if config.password is not None:
        url = url.set(password=config.password.reveal())
    backend = url.get_backend_name()
    args: dict[str, Any] = {}
    if backend == "postgresql":
        args = {"connect_timeout": config.connect_timeout_seconds,
                "options": f"-c statement_timeout={config.query_timeout_seconds * 1000} -c default_transaction_read_only=on"}
    elif backend == "mysql":
        args = {"connect_timeout": config.connect_timeout_seconds, "read_timeout": config.query_timeout_seconds}
    elif backend == "sqlite":
        args = {"timeout": config.connect_timeout_seconds}
    return create_engine(url, connect_args=args, pool_pre_ping=True)
