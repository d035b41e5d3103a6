"""Decode WMS rows into Movements: Decimal quantities, aware times, strict text.

Every source declares its time zone and encoding; naive times get the source's zone attached,
floats are turned into Decimal through their shortest repr and refused when not finite, and bytes
are decoded strictly in the source's encoding. A row that fails becomes a SourceRowError with a
stable reason, never a guess.

`decode_rows` is the hot path of a sync (a backfill decodes millions of rows): it works on the
driver's tuples by column position and takes a fast branch for the common types (str, Decimal,
int, naive datetime); anything else goes through the general converters below.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from operator import attrgetter, sub
from typing import Any
from zoneinfo import ZoneInfo

from adapters.sources import _extras
from connector._columns import MovementColumns, movement_of
from connector.errors import BadInputError
from connector.model import Movement, SourceRowError

REQUIRED = ("line_key", "changed_at", "occurred_at", "sku", "qty", "uom", "movement_type", "doc_ref")
OPTIONAL = ("lot", "location")
MAX_TEXT = 200  # the store's text columns; longer values are quarantined, never truncated
MAX_MAGNITUDE = 15  # decimal(19,5) holds 14 integer digits: 1e15 and beyond is not a quantity
TEXT_FIELDS = ("sku", "uom", "movement_type", "doc_ref", "lot", "location")


def to_decimal(value: Any, field: str = "qty") -> Decimal:
    if type(value) is Decimal:
        number = value
    elif isinstance(value, bool) or value is None:
        raise BadInputError("qty_invalid", f"{field} is {value!r}")
    else:
        try:
            number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
        except InvalidOperation:
            raise BadInputError("qty_invalid", f"{field} {value!r} is not a number") from None
    if not number.is_finite():
        raise BadInputError("qty_invalid", f"{field} {value!r} is not a finite number")
    if number and number.adjusted() >= MAX_MAGNITUDE:
        raise BadInputError("qty_invalid", f"{field} {value!r} is too large to be a quantity")
    return number


def to_aware(value: Any, zone: ZoneInfo, field: str) -> datetime:
    """Attach the source's zone to a naive time, then express it in UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise BadInputError("time_invalid", f"{field} {value!r} is not a timestamp") from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise BadInputError("time_invalid", f"{field} is {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def to_text(value: Any, encoding: str, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            value = bytes(value).decode(encoding)
        except UnicodeDecodeError:
            raise BadInputError("encoding_error", f"{field} is not valid {encoding}: {bytes(value).hex()}") from None
    text = str(value)
    if not text.isprintable():  # fast path above: most WMS text has no control characters
        text = "".join(ch for ch in text if ch == "\t" or ch >= " ")
    if len(text) > MAX_TEXT:
        raise BadInputError("text_too_long", f"{field} is {len(text)} characters (limit {MAX_TEXT})")
    return text


class RowDecoder:
    """Decodes driver rows (tuples in the order of `names`) for one source; `extras`: extra key ->
    query column (`extra_columns`), decoded by `_extras.py` into Movement.extra."""

    def __init__(self, source: str, names: tuple[str, ...] | list[str], zone: ZoneInfo, encoding: str,
                 extras: dict[str, str] | None = None):
        self.source, self.names, self.zone, self.encoding = source, tuple(names), zone, encoding
        self.utc = zone.key in ("UTC", "Etc/UTC", "Etc/Zulu", "Zulu", "Universal")
        index = {name: i for i, name in enumerate(self.names)}
        self.at = {name: index.get(name) for name in REQUIRED + OPTIONAL}
        self.extra_at = {key: index[column] for key, column in (extras or {}).items() if column in index}

    def rows(self, rows: list[tuple]) -> list[Movement | SourceRowError]:
        """A batch, column by column when every column is of a plain type (one check per column);
        row by row, with a reason for each bad row, when any column is not."""
        columns = self.columns(rows)
        return list(columns) if columns is not None else [self.row(row) for row in rows]

    def columns(self, rows: list[tuple]) -> MovementColumns | None:
        """The batch as columns (`connector/_columns.py`), or None when a row needs a closer look."""
        return _fast_columns(self, list(zip(*rows))) if rows else None

    def row(self, row: tuple) -> Movement | SourceRowError:
        at = self.at
        raw_key = row[at["line_key"]]
        key = (raw_key if type(raw_key) is str else "" if raw_key is None else str(raw_key)).strip()
        try:
            if not key:
                raise BadInputError("line_key_missing", "the row has no line key")
            values = {f: self._text(row, f) for f in TEXT_FIELDS}
            values.update(source=self.source, line_key=key, qty=to_decimal(row[at["qty"]]),
                          occurred_at=self._time(row[at["occurred_at"]], "occurred_at"),
                          changed_at=self._time(row[at["changed_at"]], "changed_at"),
                          extra=_extras.decode(row, self.extra_at, self.zone, self.encoding))
        except BadInputError as exc:
            raw = dict(zip(self.names, row))
            return SourceRowError(self.source, key or row_ref(raw), exc.reason, exc.detail, jsonable(raw))
        return movement_of(values)

    def _text(self, row: tuple, field: str) -> str | None:
        i = self.at[field]
        value = None if i is None else row[i]
        if type(value) is str and len(value) <= MAX_TEXT and value.isprintable():
            return value if value and not value.isspace() else None
        text = to_text(value, self.encoding, field)
        return text if text and text.strip() else None

    def _time(self, value: Any, field: str) -> datetime:
        if type(value) is datetime and value.tzinfo is None:
            return value.replace(tzinfo=UTC) if self.utc else value.replace(tzinfo=self.zone).astimezone(UTC)
        return to_aware(value, self.zone, field)


QTY_LIMIT = Decimal(10) ** MAX_MAGNITUDE
TZINFO = attrgetter("tzinfo")


def _fast_columns(decoder: RowDecoder, columns: list[tuple]) -> MovementColumns | None:
    n, at = len(columns[0]), decoder.at
    keys, qty = _keys(columns[at["line_key"]]), _quantities(columns[at["qty"]])
    times = [_times(columns[at[f]], decoder) for f in ("occurred_at", "changed_at")]
    texts = {f: _texts(columns[at[f]]) if at[f] is not None else [None] * n for f in TEXT_FIELDS}
    if keys is None or qty is None or None in times or any(t is None for t in texts.values()):
        return None
    extra = _extras.decode_columns(columns, decoder.extra_at, decoder.zone, decoder.encoding)
    if extra is False:
        return None
    return MovementColumns(decoder.source, keys, qty, *times, texts, extra or None, naive_utc=True)


def _keys(column: tuple) -> list[str] | None:
    kinds = set(map(type, column))
    keys = list(map(str, column)) if kinds == {int} else list(map(str.strip, column)) if kinds == {str} else None
    return None if keys is None or "" in keys else keys


def _quantities(column: tuple):
    kinds = set(map(type, column))
    if kinds == {int}:
        column = tuple(map(Decimal, column))
    elif kinds != {Decimal}:
        return None
    if not all(map(Decimal.is_finite, column)) or max(map(abs, column)) >= QTY_LIMIT:
        return None
    return column


def _times(column: tuple, decoder: RowDecoder):
    """Naive datetimes (or ISO texts: SQLite and SQLite ODBC return times as text) in the source's
    zone; None when any value is of another kind or not a valid time (the row path says which)."""
    kinds = set(map(type, column))
    if kinds == {str}:
        try:
            column = tuple(map(datetime.fromisoformat, map(str.strip, column)))
        except ValueError:
            return None
    elif kinds != {datetime}:
        return None
    if set(map(TZINFO, column)) != {None}:
        return None
    if decoder.utc:
        return column  # naive UTC: MovementColumns attaches the zone only when a Movement is built
    return naive_utc(column, decoder.zone)


def naive_utc(column: Sequence[datetime], zone: ZoneInfo) -> list[datetime]:
    """Naive local times as naive UTC, exactly as `value.replace(tzinfo=zone).astimezone(UTC)`:
    one subtraction per value on each day the zone keeps one offset (checked hour by hour: no
    transition comes and goes within an hour), value by value on a day with a transition."""
    offsets = {day: _day_offset(day, zone) for day in set(map(datetime.date, column))}
    if None not in offsets.values():
        return list(map(sub, column, map(offsets.__getitem__, map(datetime.date, column))))
    return [value - offset if (offset := offsets[value.date()]) is not None
            else value.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None) for value in column]


def _day_offset(day: date, zone: ZoneInfo) -> timedelta | None:
    start = datetime.combine(day, time.min)
    seen = {zone.utcoffset(start + timedelta(hours=h)) for h in range(24)} | {zone.utcoffset(
        datetime.combine(day, time.max))}
    return seen.pop() if len(seen) == 1 else None


def _texts(column: tuple):
    """Plain printable text within the limit, blanks as None; None when a value needs a closer look."""
    kinds = set(map(type, column))
    present = column if kinds == {str} else [v for v in column if v is not None] if kinds == {str, type(None)} \
        else None if kinds != {type(None)} else []
    if present is None or not "".join(present).isprintable() or (present and max(map(len, present)) > MAX_TEXT):
        return None
    if "" in present or any(map(str.isspace, present)):
        return [v if v and not v.isspace() else None for v in column]
    return column


def decode_row(source: str, row: dict[str, Any], zone: ZoneInfo, encoding: str) -> Movement | SourceRowError:
    """One row given as a mapping (tests, odd callers); the adapters use RowDecoder on tuples."""
    names = tuple(row)
    padded = names + tuple(c for c in REQUIRED if c not in row)
    return RowDecoder(source, padded, zone, encoding).row(tuple(row.get(c) for c in padded))


def row_ref(row: dict[str, Any]) -> str:
    """A stable reference for a row without a usable key: a hash of its values."""
    import hashlib
    import json

    return "row-" + hashlib.sha256(json.dumps(jsonable(row), sort_keys=True).encode()).hexdigest()[:16]


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON-safe values for the quarantine (bytes as hex, everything else as text)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, (bytes, bytearray, memoryview)):
            out[key] = {"hex": bytes(value).hex()}
        elif value is None or isinstance(value, (int, str)):
            out[key] = value
        else:
            out[key] = str(value)
    return out
