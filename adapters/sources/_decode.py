"""Decode one WMS row into a Movement: Decimal quantities, aware times, strict text.

Every source declares its time zone and encoding; naive times get the source's zone attached,
floats are turned into Decimal through their shortest repr and refused when not finite, and bytes
are decoded strictly in the source's encoding. A row that fails becomes a SourceRowError with a
stable reason, never a guess.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from connector.errors import BadInputError
from connector.model import Movement, SourceRowError

REQUIRED = ("line_key", "changed_at", "occurred_at", "sku", "qty", "uom", "movement_type", "doc_ref")
OPTIONAL = ("lot", "location")
MAX_TEXT = 200  # the store's text columns; longer values are quarantined, never truncated
MAX_MAGNITUDE = 15  # decimal(19,5) holds 14 integer digits: 1e15 and beyond is not a quantity


def to_decimal(value: Any, field: str = "qty") -> Decimal:
    if isinstance(value, bool) or value is None:
        raise BadInputError("qty_invalid", f"{field} is {value!r}")
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
    text = "".join(ch for ch in str(value) if ch == "\t" or ch >= " ")
    if len(text) > MAX_TEXT:
        raise BadInputError("text_too_long", f"{field} is {len(text)} characters (limit {MAX_TEXT})")
    return text


def decode_row(source: str, row: dict[str, Any], zone: ZoneInfo, encoding: str) -> Movement | SourceRowError:
    raw_key = row.get("line_key")
    key = "" if raw_key is None else str(raw_key).strip()
    try:
        if not key:
            raise BadInputError("line_key_missing", "the row has no line key")
        return Movement(
            source=source,
            line_key=key,
            sku=_blank_to_none(to_text(row["sku"], encoding, "sku")),
            qty=to_decimal(row["qty"]),
            uom=_blank_to_none(to_text(row["uom"], encoding, "uom")),
            movement_type=_blank_to_none(to_text(row["movement_type"], encoding, "movement_type")),
            doc_ref=_blank_to_none(to_text(row["doc_ref"], encoding, "doc_ref")),
            occurred_at=to_aware(row["occurred_at"], zone, "occurred_at"),
            changed_at=to_aware(row["changed_at"], zone, "changed_at"),
            lot=_blank_to_none(to_text(row.get("lot"), encoding, "lot")),
            location=_blank_to_none(to_text(row.get("location"), encoding, "location")),
        )
    except BadInputError as exc:
        return SourceRowError(source, key or row_ref(row), exc.reason, exc.detail, jsonable(row))


def row_ref(row: dict[str, Any]) -> str:
    """A stable reference for a row without a usable key: a hash of its values."""
    import hashlib
    import json

    return "row-" + hashlib.sha256(json.dumps(jsonable(row), sort_keys=True).encode()).hexdigest()[:16]


def _blank_to_none(text: str | None) -> str | None:
    return text if text and text.strip() else None


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
