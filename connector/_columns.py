"""A batch of decoded movements held column by column: the hot path of a backfill.

A source adapter that decodes a whole batch at once (`adapters/sources/_decode.py`) hands the sync a
MovementColumns instead of a list of Movement objects. It is a read-only sequence of Movements
(built only when someone indexes or iterates it), and the staging reads its columns directly: the
content hashes and the insert tuples are made with one C-level map per column, never one Python
object per row. Times of a UTC source stay naive (they are UTC) until a Movement is asked for.

The content hash is the SHA-256 of `json.dumps([sku, qty, uom, type, doc_ref, lot, location,
occurred_at], ensure_ascii=False)` (qty as its normalized Decimal text, occurred_at as the aware
UTC time's isoformat()); a text column with no NULL and nothing JSON escapes goes into the template
between quotes as it is, which gives the same bytes. WMS extras (`extra_columns`) are appended as
a ninth item only when a row has any, so every row without them keeps its hash.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from hashlib import sha256
from itertools import repeat
from json.encoder import encode_basestring
from operator import attrgetter, methodcaller
from typing import Any

from connector.model import Movement
from connector.store.types import json_text

TEXT_FIELDS = ("sku", "uom", "movement_type", "doc_ref", "lot", "location")
HASHED_TEXTS = ("sku", "uom", "movement_type", "doc_ref", "lot", "location")  # the hash's order after qty
FLAGS = frozenset({"future_timestamp"})  # bookkeeping the adapter adds: never part of the content
ISO_MICRO = methodcaller("isoformat", timespec="microseconds")
NO_MICROSECONDS = methodcaller("replace", ".000000+", "+")  # isoformat() omits a zero fraction
HEX = methodcaller("hexdigest")


class MovementColumns(Sequence):
    """Columns of one batch; `naive_utc`: the time columns are naive datetimes meaning UTC."""

    def __init__(self, source: str, keys: list[str], qty: Sequence[Decimal], occurred: Sequence[datetime],
                 changed: Sequence[datetime], texts: dict[str, Sequence[str | None]],
                 extra: Sequence[dict[str, Any]] | None = None, naive_utc: bool = False):
        self.source, self.keys, self.qty, self.occurred, self.changed = source, keys, qty, occurred, changed
        self.texts, self.extra, self.naive_utc = texts, extra, naive_utc
        self._texts: dict[int, list[str]] = {}  # id(time column) -> its texts
        self._isoformats: list[str] | None = None  # isoformat() of each naive UTC occurred_at
        self._normalized: list[Decimal] | None = None
        self._hashes: list[str] | None = None
        self._new_rows: list[tuple] | None = None

    @classmethod
    def of(cls, movements: Sequence[Movement]) -> MovementColumns:
        if isinstance(movements, MovementColumns):
            return movements
        column = {f: list(map(attrgetter(f), movements)) for f in ("line_key", "qty", "occurred_at", "changed_at",
                                                                   "extra", *TEXT_FIELDS)}
        source = movements[0].source if movements else ""
        return cls(source, column["line_key"], column["qty"], column["occurred_at"], column["changed_at"],
                   {f: column[f] for f in TEXT_FIELDS}, column["extra"] if any(column["extra"]) else None)

    def __len__(self) -> int:
        return len(self.keys)

    def __reduce__(self):
        """Compact pickling for the staging child: `_columns_wire.py`."""
        from connector._columns_wire import reduce

        return reduce(self)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        occurred, changed = self.occurred[i], self.changed[i]
        if self.naive_utc:
            occurred, changed = occurred.replace(tzinfo=UTC), changed.replace(tzinfo=UTC)
        return movement_of({f: self.texts[f][i] for f in TEXT_FIELDS}, source=self.source, line_key=self.keys[i],
                           qty=self.qty[i], occurred_at=occurred, changed_at=changed,
                           extra=dict(self.extra[i]) if self.extra else {})

    def take(self, indices: list[int]) -> MovementColumns:
        pick = _picker(indices)
        return MovementColumns(self.source, pick(self.keys), pick(self.qty), pick(self.occurred),
                               pick(self.changed), {f: pick(v) for f, v in self.texts.items()},
                               pick(self.extra) if self.extra else None, self.naive_utc)

    def newest_changed(self) -> datetime:
        newest = max(self.changed)
        return newest.replace(tzinfo=UTC) if self.naive_utc else newest

    def time_texts(self, values: Sequence[datetime]) -> list[str]:
        """Each time exactly as AwareDateTime stores it (UTC ISO text with microseconds)."""
        if values is self.changed and self.changed == self.occurred:  # one query column read twice
            values = self.occurred
        cached = self._texts.get(id(values))
        if cached is None:
            base = self._naive_isoformats() if self.naive_utc and values is self.occurred else None
            cached = self._texts[id(values)] = _iso_texts(values, self.naive_utc, base)
        return cached

    def new_rows(self) -> list[tuple]:
        """The insert tuples of a backfill, every line at revision 1, computed once: the columns of
        `_staging.NEW_COLUMNS`, plus `extra` only when a row has extras (the revision, and an
        absent extra, are SQL literals: two binds fewer a row, 1.5 µs of the insert's 9). The
        writer asks for them, not the reader: the reader then reaches the next batch sooner."""
        if self._new_rows is None:
            extra = (self._extras(),) if self.extra else ()
            self._new_rows = list(zip(self.keys, self.hashes(), *self._values(), *extra))
        return self._new_rows

    def hashes(self) -> list[str]:
        """The content hash of each row (module docstring), computed once."""
        if self._hashes is None:
            self._hashes = self._compute_hashes()
        return self._hashes

    def _compute_hashes(self) -> list[str]:
        slots, args = ['"{}"'], [list(map(str, self.normalized_qty()))]
        for field in HASHED_TEXTS:
            values = self.texts[field]
            plain = _plain(values)
            slots.append('"{}"' if plain else "{}")
            args.append(values if plain else list(map(_hashed_string, values)))
        slots.insert(1, slots.pop(0))  # sku first, then qty
        args.insert(1, args.pop(0))
        if all(slot == '"{}"' for slot in slots):  # every value quoted alike: one join a row, 2.5x the format
            texts = ['["' + text + '"]' for text in map('", "'.join, zip(*args, self._hashed_times()))]
        else:
            texts = list(map(("[" + ", ".join(slots) + ', "{}"]').format, *args, self._hashed_times()))
        if self.extra:
            texts = [_with_extra(text, extra) for text, extra in zip(texts, self.extra)]
        return list(map(HEX, map(sha256, map(str.encode, texts))))

    def normalized_qty(self) -> list[Decimal]:
        if self._normalized is None:
            self._normalized = _normalized(self.qty)
        return self._normalized

    def _hashed_times(self) -> list[str]:
        """occurred_at.isoformat() of each row, as the hash has always taken it."""
        if self.naive_utc:
            return list(map(str.__add__, self._naive_isoformats(), repeat("+00:00")))
        if set(map(attrgetter("tzinfo"), self.occurred)) == {UTC}:
            return list(map(NO_MICROSECONDS, self.time_texts(self.occurred)))
        return list(map(methodcaller("isoformat"), self.occurred))

    def _naive_isoformats(self) -> list[str]:
        if self._isoformats is None:
            self._isoformats = list(map(datetime.isoformat, self.occurred))
        return self._isoformats

    def rows(self, revisions: list[int], digests: list[str]) -> list[tuple]:
        """The insert tuples in `_staging.COLUMNS` order (source and staged_at are the batch's)."""
        return list(zip(self.keys, revisions, digests, *self._values(), self._extras()))

    def _values(self) -> tuple:
        """The stored value columns, from sku to changed_at (`_staging.COLUMNS`)."""
        t = self.texts
        return (t["sku"], qty_texts(self.qty, self.normalized_qty()), t["uom"], t["movement_type"], t["doc_ref"],
                t["lot"], t["location"], self.time_texts(self.occurred), self.time_texts(self.changed))

    def _extras(self):
        return [json_text(e) if e else None for e in self.extra] if self.extra else repeat(None, len(self))


def movement_of(values: dict[str, Any], **more: Any) -> Movement:
    """A Movement from values the decoder has already validated (aware times, Decimal qty), without
    the frozen dataclass's __init__ (one object.__setattr__ per field: on a backfill of millions of
    rows it cost more than the decoding itself)."""
    movement = object.__new__(Movement)
    movement.__dict__.update(values, **more)
    return movement


def _iso_texts(values: Sequence[datetime], naive_utc: bool, texts: list[str] | None = None) -> list[str]:
    """isoformat() is three times faster than isoformat(timespec=...); the fraction is added after.
    `texts`: the values' isoformat(), when the hash has already made them."""
    if not naive_utc and set(map(attrgetter("tzinfo"), values)) != {UTC}:
        return [ISO_MICRO(value.astimezone(UTC)) for value in values]
    texts = texts if texts is not None else list(map(datetime.isoformat, values))
    if naive_utc and not any(map(attrgetter("microsecond"), values)):
        return list(map(str.__add__, texts, repeat(".000000+00:00")))
    if naive_utc:
        return [text + ("+00:00" if len(text) > 19 else ".000000+00:00") for text in texts]
    return [text if len(text) > 25 else text[:19] + ".000000+00:00" for text in texts]


def qty_texts(values: Sequence[Decimal], normalized: list[Decimal] | None = None) -> list[str]:
    """Quantities exactly as DecimalText stores them (plain notation, no trailing zeros, 0 not -0)."""
    texts = list(map(format, normalized if normalized is not None else _normalized(values), repeat("f")))
    return ["0" if text == "-0" else text for text in texts] if "-0" in texts else texts


def _normalized(values: Sequence[Decimal]) -> list[Decimal]:
    if not all(map(Decimal.is_finite, values)):
        raise ValueError("quantity must be finite")
    return list(map(Decimal.normalize, values))


def _plain(values: Sequence[str | None]) -> bool:
    """Every value a str that JSON writes as "value" (no quote, backslash or control character)."""
    if set(map(type, values)) != {str}:
        return False
    joined = "".join(values)
    return joined.isprintable() and '"' not in joined and "\\" not in joined


def _hashed_string(value: str | None) -> str:
    """A text value as the hash's JSON writes it (`json.dumps(…, ensure_ascii=False)`)."""
    return "null" if value is None else encode_basestring(value)


def _with_extra(text: str, extra: dict[str, Any]) -> str:
    content = {k: v for k, v in extra.items() if k not in FLAGS}
    if not content:
        return text
    return text[:-1] + ", " + json.dumps(content, ensure_ascii=False, sort_keys=True) + "]"


def _picker(indices: list[int]):
    return lambda values: [values[i] for i in indices]
