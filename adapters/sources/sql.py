"""Generic SQL source: a movement query over any SQLAlchemy URL, read by a (timestamp, key) cursor.

The site's query (or a profile's) must return the columns of `_decode.REQUIRED` (+ optional lot,
location). The adapter wraps it as a subquery and reads keyset batches ordered by
(changed_at, line_key). Rows whose changed_at is not older than `now - lag_seconds` are left for a
later run, so a WMS transaction still open cannot commit a row behind the cursor. The cursor
stores the raw values the driver returned, and binds them back unchanged, so a text timestamp in
SQLite or a datetime in PostgreSQL compare exactly as the database compares them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from sqlalchemy import Engine, and_, column, create_engine, or_, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from adapters.sources._decode import OPTIONAL, REQUIRED, decode_row, to_aware
from connector.abc import SourceAdapter
from connector.clock import Clock, SystemClock
from connector.config.schema import Strict, check_encoding, check_timezone
from connector.config.secrets import Secret
from connector.errors import RetryableSourceError
from connector.model import Batch, Movement, SourceRowError


class SqlSourceConfig(Strict):
    url: str = Field(min_length=1, description="SQLAlchemy URL, without the password")
    password: Secret | None = None
    timezone: str = Field(description="zone of the WMS's naive timestamps (no default)")
    encoding: str = Field(description="text encoding of the WMS (utf-8, gbk, ...)")
    query: str = Field(min_length=1, description="SELECT returning the movement columns")
    batch_size: int = Field(default=5000, ge=1, le=100_000)
    lag_seconds: int = Field(default=300, ge=0, description="leave rows younger than this for later")
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
        self.rows = text(config.query).columns(*(column(c) for c in REQUIRED + OPTIONAL)).subquery("movements")

    def statement(self, cursor: dict[str, Any] | None, limit: int):
        """The keyset query: rows after the cursor, oldest first, at most `limit`."""
        q = self.rows.c
        stmt = select(self.rows).order_by(q.changed_at, q.line_key).limit(limit)
        if cursor:
            ts, key = cursor["changed_at"], cursor["line_key"]
            stmt = stmt.where(or_(q.changed_at > ts, and_(q.changed_at == ts, q.line_key > key)))
        return stmt

    def fetch(self, cursor: dict[str, Any] | None, limit: int) -> Batch:
        rows = self._query(cursor, limit)
        upper = self.clock.now() - timedelta(seconds=self.config.lag_seconds)
        movements: list[Movement] = []
        errors: list[SourceRowError] = []
        for row in rows:
            if self._too_young(row["changed_at"], upper):
                return Batch(movements, errors, cursor, exhausted=True)
            decoded = decode_row(self.name, row, self.zone, self.config.encoding)
            (movements if isinstance(decoded, Movement) else errors).append(decoded)
            cursor = {"changed_at": row["changed_at"], "line_key": row["line_key"]}
        return Batch(movements, errors, cursor, exhausted=len(rows) < limit)

    def _too_young(self, raw_ts: Any, upper) -> bool:
        try:
            return to_aware(raw_ts, self.zone, "changed_at") >= upper
        except Exception:  # an unreadable timestamp is decoded (and quarantined) like any bad row
            return False

    def _query(self, cursor: dict[str, Any] | None, limit: int) -> list[dict[str, Any]]:
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True).execute(self.statement(cursor, limit))
                return [dict(r._mapping) for r in result]
        except (DBAPIError, SQLAlchemyError) as exc:
            raise RetryableSourceError(f"source {self.name}: query failed: {type(exc).__name__}: {exc.orig if hasattr(exc, 'orig') else exc}") from None

    def check(self) -> str:
        try:
            with self.engine.connect() as conn:
                conn.execute(self.statement(None, 1)).fetchall()
        except (DBAPIError, SQLAlchemyError) as exc:
            raise RetryableSourceError(f"cannot query {self.describe()}: {type(exc).__name__}") from None
        return f"query ok on {self.describe()}"

    def describe(self) -> str:
        return make_url(self.config.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()


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
