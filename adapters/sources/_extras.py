"""WMS extras: facts some comparator rules want that are not part of a movement's core columns.

A source maps each extra key to a column of its query (`extra_columns = { vehicle_no = "truck_no",
gross_wt = "gross_weight", dispatched_at = "loaded_at" }`); the decoder puts them in
Movement.extra as text, decoded like the core columns:

- `vehicle_no` (车牌): text in the source's encoding, trimmed;
- `gross_wt`: kilograms as exact decimal text (`12.5`), never a float; negative is refused;
- `dispatched_at`: an aware time as ISO text with its offset, the source's zone attached to a
  naive time, expressed in UTC.

NULL or blank leaves the key out. A bad value quarantines the row with its reason (`weight_invalid`,
`time_invalid`, `encoding_error`, `text_too_long`), like any other bad row. Extras enter the
content hash only when a row has some (`connector/_columns.py`), so rows without them keep theirs.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from adapters.sources import _decode  # circular, used at call time only
from connector._columns import qty_texts
from connector.errors import BadInputError

KEYS = ("vehicle_no", "gross_wt", "dispatched_at")


def decode(row: tuple, at: dict[str, int], zone: ZoneInfo, encoding: str) -> dict[str, str]:
    """The row's extras (key -> text); raises BadInputError for a bad value."""
    out = {}
    for key, i in at.items():
        value = row[i]
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        text = DECODERS[key](value, zone, encoding)
        if text:
            out[key] = text
    return out


def decode_columns(columns: list[tuple], at: dict[str, int], zone: ZoneInfo, encoding: str):
    """Each row's extras ([] when the source has none), or False when a row needs the row-by-row path."""
    if not at:
        return []
    position = {key: n for n, key in enumerate(at)}
    try:
        return [decode(row, position, zone, encoding) for row in zip(*(columns[i] for i in at.values()))]
    except BadInputError:
        return False


def _vehicle(value: Any, zone: ZoneInfo, encoding: str) -> str | None:
    text = _decode.to_text(value, encoding, "vehicle_no")
    return text.strip() if text else None


def _weight(value: Any, zone: ZoneInfo, encoding: str) -> str:
    try:
        number = _decode.to_decimal(value, "gross_wt")
    except BadInputError as exc:
        raise BadInputError("weight_invalid", exc.detail) from None
    if number < 0:
        raise BadInputError("weight_invalid", f"gross_wt {value!r} is negative")
    return qty_texts([number])[0]


def _time(value: Any, zone: ZoneInfo, encoding: str) -> str:
    return _decode.to_aware(value, zone, "dispatched_at").isoformat()


DECODERS = {"vehicle_no": _vehicle, "gross_wt": _weight, "dispatched_at": _time}
