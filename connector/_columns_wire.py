"""How a batch of columns travels to the staging child (`_writer_process.py`): as a few long texts.

Pickling a batch as it is costs more than staging it: every Decimal and datetime is rebuilt from
its reduce tuple, and every short string goes through pickle's memo. So each column travels as ONE
string, its values joined by a unit separator (U+001F), a missing text as a record separator
(U+001E); quantities as their Decimal text (exact: Decimal(str(d)) == d with the same exponent)
and times as isoformat(). The decoder never lets either control character through (it drops
control characters from text), and a column that holds one anyway travels as a plain list.
A time column read twice by the query (changed_at = occurred_at) travels once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from connector._columns import MovementColumns

SEP, NONE = "\x1f", "\x1e"


def reduce(columns: MovementColumns):
    """The pickle reduce tuple of a MovementColumns."""
    c = columns
    same = c.changed is c.occurred or c.changed == c.occurred
    occurred = _joined(list(map(datetime.isoformat, c.occurred)))
    changed = None if same else _joined(list(map(datetime.isoformat, c.changed)))
    texts = {field: _joined(values) for field, values in c.texts.items()}
    return rebuild, (c.source, len(c), _joined(c.keys), _joined(list(map(str, c.qty))), occurred, changed, texts,
                     c.extra, c.naive_utc)


def rebuild(source: str, n: int, keys, qty, occurred, changed, texts, extra, naive_utc: bool) -> MovementColumns:
    occurred_texts = _split(occurred, n)
    times = list(map(datetime.fromisoformat, occurred_texts))
    other = times if changed is None else list(map(datetime.fromisoformat, _split(changed, n)))
    columns = MovementColumns(source, _split(keys, n), list(map(Decimal, _split(qty, n))), times, other,
                              {field: _split(values, n) for field, values in texts.items()}, extra, naive_utc)
    if naive_utc:
        columns._isoformats = occurred_texts  # the hash takes them as they are
    return columns


def _joined(values: Sequence[str | None]) -> str | list[str | None]:
    """One string for the column, or the column itself when a value holds a separator."""
    missing = 0
    try:
        text = SEP.join(values)
    except TypeError:  # a None among the values
        missing = values.count(None)
        text = SEP.join(NONE if value is None else value for value in values)
    if text.count(SEP) != len(values) - 1 or text.count(NONE) != missing:
        return list(values)
    return text


def _split(packed: str | list[str | None], n: int) -> list[str | None]:
    if not isinstance(packed, str):
        return packed
    values = packed.split(SEP) if n else []
    return [None if value == NONE else value for value in values] if NONE in packed else values
