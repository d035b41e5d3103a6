"""Generic SQL source: a movement query (the site's own, or a profile's) over any SQLAlchemy URL.

The query must return the columns of `_decode.REQUIRED` (+ optional lot, location, row_version).
The adapter wraps it as a subquery and reads bounded batches in the order of its cursor strategy
(`cursors.py`). Rows whose changed_at is not older than the signpost (`now - lag_seconds`, and on
PostgreSQL with `cap_at_open_transactions` the start of the oldest open transaction) are left
for a later run, so a WMS transaction still open cannot commit a row behind the cursor.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, column, text

from adapters.sources import _link, cursors
from adapters.sources._config import SqlSourceConfig, build_engine  # noqa: F401 (re-exported)
from adapters.sources._decode import OPTIONAL, REQUIRED, RowDecoder, jsonable, row_ref
from adapters.sources.profile import (
    EXTRA_COLUMNS,
    load_profile,
    render_query,
    render_snapshot,
)
from connector.abc import SourceAdapter
from connector.clock import Clock, SystemClock
from connector.errors import FatalSourceError, RetryableSourceError
from connector.model import Batch, Movement, SourceRowError


class SqlSource(SourceAdapter):
    Config = SqlSourceConfig

    def __init__(self, name: str, config: SqlSourceConfig, clock: Clock | None = None, engine: Engine | None = None):
        self.name = name
        self.config = config
        self.zone = ZoneInfo(config.timezone)
        self.clock = clock or SystemClock()
        self.link = _link.link(config, engine)
        self.engine = getattr(self.link, "engine", None)  # None on the ODBC path
        self.dialect = self.link.dialect
        self.strategy = cursors.strategy(config.cursor)
        self.keeps_cursor = self.strategy.stored
        profile = load_profile(config.profile) if config.profile else None
        self.query = config.query or render_query(profile, self.dialect)
        self.snapshot_query = render_snapshot(profile, self.dialect) if profile else None
        self.columns = _columns(OPTIONAL + EXTRA_COLUMNS + tuple(config.extra_columns.values()))  # narrowed on use

    def _rows(self):
        return text(_escape_colons(self.query)).columns(*(column(c) for c in self.columns)).subquery("movements")

    def statement(self, cursor: dict[str, Any] | None, limit: int):
        """The batch query: keyed rows after the cursor, in cursor order, at most `limit`."""
        return self.strategy.statement(self._rows(), cursor, limit,
                                       row_values=self.dialect.name == "postgresql")

    def unkeyed_statement(self, limit: int):
        """Rows a cursor can never reach (NULL cursor column): reported, not lost."""
        return self.strategy.unkeyed(self._rows(), limit)

    def fetch(self, cursor: dict[str, Any] | None, limit: int) -> Batch:
        now = self.clock.now()  # the bound first: a transaction still open now keeps the cursor behind it,
        upper, future = self._signpost(now), now + timedelta(seconds=self.config.future_skew_seconds)
        names, rows = self._query_rows(lambda: self.statement(cursor, limit))  # even if it commits meanwhile
        decoder = self._decoder(names)
        columns = decoder.columns(rows)
        if columns is not None and (not self.strategy.time_bounded or columns.newest_changed() < upper):
            return Batch(columns, [], self._cursor_at(names, rows[-1], cursor), exhausted=len(rows) < limit)
        movements: list[Movement] = []
        errors: list[SourceRowError] = []
        bounded, last, flagged = self.strategy.time_bounded, None, False
        for row, item in zip(rows, list(columns) if columns is not None else map(decoder.row, rows)):
            stamp = item.changed_at if bounded and type(item) is Movement else None
            if stamp is not None and stamp >= upper:
                if stamp <= future:  # too young: left for a later run, the cursor stops before it
                    return Batch(movements, errors, self._cursor_at(names, last, cursor), exhausted=True)
                movements.append(replace(item, extra={**item.extra, "future_timestamp": True}))  # B5 #16: never moves the cursor
                flagged = True
                continue
            (movements if type(item) is Movement else errors).append(item)
            last = row
        return Batch(movements, errors, self._cursor_at(names, last, cursor),
                     exhausted=len(rows) < limit or flagged)

    def _decoder(self, names) -> RowDecoder:
        return RowDecoder(self.name, names, self.zone, self.config.encoding, self.config.extra_columns)

    def _cursor_at(self, names, row, carry):
        return carry if row is None else self.strategy.cursor_of(dict(zip(names, row)), carry=carry)

    def _signpost(self, now):
        upper = now - timedelta(seconds=self.config.lag_seconds)
        if self.config.cap_at_open_transactions and self.dialect.name == "postgresql":
            oldest = self._scalar(cursors.PG_OLDEST_XACT)
            if oldest is not None and oldest < upper:
                upper = oldest
        return upper

    def count_pending(self, cursor: dict[str, Any] | None = None) -> int | None:
        """Rows the cursor can reach after `cursor` (for a terminal progress bar): one count query."""
        rows = self._query_rows(lambda: cursors.count_all(self.statement(cursor, None).order_by(None).subquery()))[1]
        return int(rows[0][0]) if rows else None

    def fetch_unkeyed(self, limit: int = 1000) -> list[SourceRowError]:
        """Rows without a cursor value, as quarantine entries (reason cursor_value_missing)."""
        rows = self._query(lambda: self.unkeyed_statement(limit))
        return [SourceRowError(self.name, _ref(row), "cursor_value_missing",
                               f"{'/'.join(self.strategy.keys)} is NULL: the cursor cannot reach this row",
                               jsonable(row))
                for row in rows]

    def start_cursor(self, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        """Where this run starts: the stored cursor or, when an overlap pass is due (every
        `overlap_every_seconds`), a rewound one. The first run with a stored cursor starts the
        clock; time and place of the passes travel in the cursor, so they survive restarts.
        keyset: `overlap_seconds` before where the cursor stood when the previous pass started
        (`_overlap_from`), not before where it stands now: a row committed up to lag +
        `overlap_seconds` after its timestamp is read by the next pass however far the cursor moved.
        monotonic: back to where the cursor stood two passes ago (`_overlap_before`): an id committed
        less than `overlap_every_seconds` after the cursor passed it (its transaction took the id
        first and committed last) is read by the next pass."""
        every = self.config.overlap_every_seconds
        name = self.strategy.name
        if not stored or not every or name not in ("keyset", "monotonic") or (
                name == "keyset" and not self.config.overlap_seconds):
            return stored
        now, last = self.clock.now(), stored.get("_overlap_at")
        if last is not None and now - last < timedelta(seconds=every):
            return stored
        if name == "keyset":
            return _keyset_pass(stored, now, last is None, self.config.overlap_seconds)
        return _monotonic_pass(stored, now, last is None)

    def cursor_problem(self, stored: dict[str, Any] | None) -> str | None:
        """Why a stored cursor cannot be valid any more (source restored or truncated), or None."""
        if not stored or not self.keeps_cursor:
            return None
        rows = self._query(lambda: self.strategy.newest(self._rows()))
        newest = rows[0] if rows else None
        if not cursors.is_ahead(stored, newest, self.strategy.keys):
            return None
        where = "the source returns no rows" if newest is None else f"the newest source row is {newest}"
        return f"cursor {stored} is beyond the source's data ({where}): restored, truncated or another database?"

    def _query(self, build) -> list[dict[str, Any]]:
        names, rows = self._query_rows(build)
        return [dict(zip(names, row)) for row in rows]

    def _query_rows(self, build) -> tuple[tuple[str, ...], list[tuple]]:
        """Run a statement on a plain driver cursor (`_link.py`): the driver's tuples, at most one batch."""
        try:
            self._discover()
            return self.link.rows(build())
        except self.link.errors as exc:
            raise _failed(self.name, exc) from None

    def _scalar(self, statement) -> Any:
        rows = self._query_rows(lambda: statement)[1]
        return rows[0][0] if rows else None

    def in_flight(self, cursor: dict[str, Any] | None, limit: int) -> list[Movement] | None:
        """Rows after `cursor` in cursor order without the lag's bound (bad rows left out: the sync
        quarantines them); a snapshot-strategy source keeps no cursor and reports none here (the
        reconciliation diffs a full read against what was staged: connector/reconcile_flight.py)."""
        if not self.keeps_cursor:
            return []
        names, rows = self._query_rows(lambda: self.statement(cursor, limit + 1))
        if len(rows) > limit:
            return None
        decoder = self._decoder(names)
        return [item for item in map(decoder.row, rows) if type(item) is Movement]

    def snapshot(self) -> list[dict[str, Any]]:
        """The WMS's own on-hand table (sku, qty, uom), for the reconciliation."""
        if not self.snapshot_query:
            raise FatalSourceError(f"source {self.name}: its profile has no [snapshot] table")
        return self._query(lambda: text(_escape_colons(self.snapshot_query)))

    def _discover(self) -> None:
        """Learn once which optional columns the query returns; a missing required one is fatal."""
        if getattr(self, "_discovered", False):
            return
        names = set(self.link.rows(text(f"SELECT * FROM ({_escape_colons(self.query)}) discover WHERE 1 = 0"))[0])
        extras = tuple(self.config.extra_columns.values())
        missing = [c for c in REQUIRED + self.strategy.keys + extras if c not in names]
        if missing:
            raise FatalSourceError(f"source {self.name}: the query does not return the column(s) "
                                   f"{', '.join(dict.fromkeys(missing))}")
        self.columns = _columns(c for c in OPTIONAL + EXTRA_COLUMNS + extras if c in names)
        self._discovered = True

    def check(self) -> str:
        self._query(lambda: self.statement(None, 1))
        return f"query ok on {self.describe()}"

    def describe(self) -> str:
        return self.link.describe()

    def close(self) -> None:
        self.link.close()


def _columns(more) -> tuple[str, ...]:
    """The query's columns the adapter reads: the required ones, then each other one once."""
    return REQUIRED + tuple(c for c in dict.fromkeys(more) if c not in REQUIRED)


def _escape_colons(query: str) -> str:
    """The query binds nothing: a `:word` in it (a literal like ':scrap' or '09:00') is text, not a parameter."""
    return re.sub(r"(?<![:\w\\]):(?=\w)", r"\\:", query)


def _failed(name: str, exc: Exception) -> RetryableSourceError:
    detail = getattr(exc, "orig", None) or exc
    return RetryableSourceError(f"source {name}: query failed: {type(detail).__name__}: {detail}")


def _ref(row: dict[str, Any]) -> str:
    key = row.get("line_key")
    return str(key) if key is not None and str(key).strip() else row_ref(row)


def _keyset_pass(stored: dict[str, Any], now, first: bool, seconds: int) -> dict[str, Any]:
    """`seconds` before the position at the previous pass."""
    mark = {"_overlap_at": now, "_overlap_from": stored["changed_at"]}
    if first:
        return {**stored, **mark}
    since = {**stored, "changed_at": stored.get("_overlap_from", stored["changed_at"])}  # older cursors: none
    return {**cursors.rewind(since, seconds), **mark}


def _monotonic_pass(stored: dict[str, Any], now, first: bool) -> dict[str, Any]:
    """Back to the position two passes ago; the positions move one pass on."""
    here = stored["line_key"]
    previous = stored.get("_overlap_from", here)
    mark = {"_overlap_at": now, "_overlap_from": here, "_overlap_before": previous}
    if first:
        return {**stored, **mark}
    return {**stored, "line_key": stored.get("_overlap_before", previous), **mark}
