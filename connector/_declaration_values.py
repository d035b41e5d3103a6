"""Wire values -> typed store values, with the file and field named in every error. Pure functions.

Quantities become Decimal (never float; NaN, Infinity and out-of-range values are refused), customs
times `yyyy-MM-dd HH:mm:ss` are read in the source's time zone and become aware datetimes, serial
numbers become int. Anything that does not convert is a BadInputError, so the whole file goes to
quarantine instead of half of it reaching the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import String, Table

from connector.abc import DeclarationDocument
from connector.errors import BadInputError

MAX_INTEGER_DIGITS = 14  # customs quantities are decimal(19,5)
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")
_INTEGER = re.compile(r"[+-]?\d{1,18}")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%Y%m%d", "%Y%m%d%H%M%S")


@dataclass(frozen=True)
class Reader:
    """Converts one document's wire values; knows the file name and zone for every error."""

    name: str
    zone: tzinfo

    def rows(self, doc: DeclarationDocument, section: str, table: Table, spec: tuple,
             **defaults: Any) -> list[dict[str, Any]]:
        return [self.row(section, table, spec, {**present(defaults), **present(raw)})
                for raw in doc.rows.get(section, [])]

    def row(self, section: str, table: Table, spec: tuple, raw: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for column, wire, kind in spec:
            value = raw.get(wire)
            where = f"{self.name}: {section}.{wire}"
            if value is None and kind.endswith("!"):
                raise BadInputError("missing_field", f"{where} is empty")
            out[column] = None if value is None else self.value(value, kind.rstrip("!"), where)
            check_length(table, column, out[column], where)
        return out

    def value(self, text: str, kind: str, where: str) -> Any:
        if kind == "dec":
            return to_decimal(text, where)
        if kind == "int":
            return to_int(text, where)
        if kind == "time":
            return to_time(text, self.zone, where)
        return text


def present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def check_length(table: Table, column: str, value: Any, where: str) -> None:
    """Refuse what PostgreSQL would refuse, so one odd file cannot block the InBox forever."""
    col_type = table.c[column].type
    length = getattr(col_type, "length", None) if isinstance(col_type, String) else None
    if length and isinstance(value, str) and len(value) > length:
        raise BadInputError("bad_value", f"{where} is {len(value)} characters, limit {length}")


def to_decimal(text: str, where: str) -> Decimal:
    """An exact Decimal from customs text; floats, NaN, Infinity and absurd sizes are refused."""
    if not _DECIMAL.fullmatch(text):
        raise BadInputError("bad_value", f"{where}={text!r} is not a decimal number")
    value = Decimal(text)
    if not value.is_finite() or (value and value.adjusted() >= MAX_INTEGER_DIGITS):
        raise BadInputError("bad_value", f"{where}={text!r} is out of range")
    return value


def to_int(text: str, where: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise BadInputError("bad_value", f"{where}={text!r} is not an integer")
    return int(text)


def to_time(text: str, zone: tzinfo, where: str) -> datetime:
    """Customs local time (no offset on the wire) -> aware datetime in the source's zone."""
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    raise BadInputError("bad_value", f"{where}={text!r} is not a time (yyyy-MM-dd HH:mm:ss)")
