"""Cursor strategies: how a source remembers where it stopped, as SQL over the movement query.

- `keyset` (default): (changed_at, line_key), rows younger than `now - lag` (and, on PostgreSQL,
  not older than the oldest open transaction's start) are left for later; a periodic overlap
  re-read catches rows committed late with an old timestamp.
- `monotonic`: line_key alone, for append-only logs with a growing integer id.
- `rowversion`: SQL Server `rowversion` column `row_version`, bounded above by
  `MIN_ACTIVE_ROWVERSION()` so a row of a transaction still open is never passed.
- `snapshot`: no usable cursor column: the whole query is read by line_key on every run and
  diffed against what was staged (content hash); a line that is gone is reported.

The cursor keeps raw driver values and binds them back unchanged (the database compares them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select, text, tuple_

STRATEGIES = ("keyset", "monotonic", "rowversion", "snapshot")

# Oldest start of another open transaction in this database (needs the same role or pg_read_all_stats).
PG_OLDEST_XACT = text(
    "SELECT min(xact_start) FROM pg_stat_activity WHERE xact_start IS NOT NULL "
    "AND pid <> pg_backend_pid() AND datname = current_database() AND backend_type = 'client backend'")


@dataclass(frozen=True)
class Strategy:
    name: str
    keys: tuple[str, ...]
    time_bounded: bool  # rows younger than the signpost stop the batch (checked in Python)
    stored: bool = True  # snapshot keeps no cursor between runs

    def where_after(self, rows, cursor: dict[str, Any] | None):
        """Rows strictly after the cursor in key order: (k1 > v1) OR (k1 = v1 AND k2 > v2) ..."""
        if not cursor:
            return None
        terms, equal = [], []
        for key in self.keys:
            col = rows.c[key]
            terms.append(and_(*equal, col > cursor[key]))
            equal.append(col == cursor[key])
        return or_(*terms)

    def statement(self, rows, cursor: dict[str, Any] | None, limit: int, row_values: bool = False):
        """`row_values`: (a, b) > (x, y), which PostgreSQL can answer from an index through the subquery."""
        stmt = select(rows).where(*(rows.c[k].is_not(None) for k in self.keys))
        after = self.where_after(rows, cursor)
        if cursor and row_values and len(self.keys) > 1:
            after = tuple_(*(rows.c[k] for k in self.keys)) > tuple_(*(cursor[k] for k in self.keys))
        if after is not None:
            stmt = stmt.where(after)
        if self.name == "rowversion":
            stmt = stmt.where(rows.c.row_version < literal_column("MIN_ACTIVE_ROWVERSION()"))
        return stmt.order_by(*(rows.c[k] for k in self.keys)).limit(limit)

    def newest(self, rows):
        """The last row in cursor order: a stored cursor beyond it cannot be valid."""
        return select(*(rows.c[k] for k in self.keys)).where(
            *(rows.c[k].is_not(None) for k in self.keys)).order_by(*(rows.c[k].desc() for k in self.keys)).limit(1)

    def unkeyed(self, rows, limit: int):
        return select(rows).where(or_(*(rows.c[k].is_(None) for k in self.keys))).limit(limit)

    def cursor_of(self, row: dict[str, Any], carry: dict[str, Any] | None = None) -> dict[str, Any]:
        """The cursor at `row`; bookkeeping keys (`_overlap_at`) of the previous cursor are carried."""
        kept = {k: v for k, v in (carry or {}).items() if k.startswith("_")}
        return {**{key: row[key] for key in self.keys}, **kept}


def strategy(name: str) -> Strategy:
    return {
        "keyset": Strategy("keyset", ("changed_at", "line_key"), time_bounded=True),
        "monotonic": Strategy("monotonic", ("line_key",), time_bounded=True),
        "rowversion": Strategy("rowversion", ("row_version",), time_bounded=False),
        "snapshot": Strategy("snapshot", ("line_key",), time_bounded=False, stored=False),
    }[name]


def count_all(rows):
    return select(func.count()).select_from(rows)


def rewind(cursor: dict[str, Any], seconds: int) -> dict[str, Any]:
    """A keyset cursor moved `seconds` back (the overlap re-read), in the driver's own value type."""
    raw = cursor["changed_at"]
    if isinstance(raw, datetime):
        return {"changed_at": raw - timedelta(seconds=seconds), "line_key": _lowest(cursor["line_key"])}
    if isinstance(raw, str):
        parsed = datetime.fromisoformat(raw.strip())
        sep = "T" if "T" in raw else " "
        return {"changed_at": (parsed - timedelta(seconds=seconds)).isoformat(sep=sep),
                "line_key": _lowest(cursor["line_key"])}
    return cursor  # a cursor type we cannot rewind is left alone (no overlap rather than a wrong one)


def _lowest(key: Any) -> Any:
    return -(2 ** 62) if isinstance(key, int) else ""


def is_ahead(cursor: dict[str, Any], newest: dict[str, Any] | None, keys: tuple[str, ...]) -> bool:
    """A stored cursor beyond the source's newest row: restored backup, truncated table, other DB.
    The whole key tuple is compared, in cursor order: (same time, larger line key) is ahead too."""
    if newest is None:
        return True
    for key in keys:
        mine, theirs = cursor[key], newest[key]
        try:
            if mine != theirs:
                return mine > theirs
        except TypeError:  # the driver now returns another type: compare as text
            if str(mine) != str(theirs):
                return str(mine) > str(theirs)
    return False
