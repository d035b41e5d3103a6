"""Database and JSON values -> the customs wire text the declaration rules read.

A broker database or a ledger API returns typed values; the declaration stage reads wire text
(`connector._declaration_values`), so both sources turn each value into the text customs would
have sent: exact decimals (a float is taken by its shortest repr, never widened), wall-clock
times in the source's zone as `yyyy-MM-dd HH:mm:ss`, bytes decoded with the source's encoding.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from connector.errors import BadInputError


def to_wire(value: Any, zone: tzinfo, encoding: str, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, datetime):
        local = value.astimezone(zone) if value.tzinfo else value
        return local.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            value = bytes(value).decode(encoding)
        except UnicodeDecodeError:
            raise BadInputError("bad_encoding", f"{where} is not valid {encoding}") from None
    return str(value).strip() or None


def canonical(message_type: str, rows: dict[str, list[dict[str, Any]]]) -> tuple[bytes, str]:
    """The document's rows as canonical JSON bytes (kept as its raw evidence) and their sha256."""
    data = json.dumps({"message_type": message_type, "rows": rows}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")
    return data, hashlib.sha256(data).hexdigest()
