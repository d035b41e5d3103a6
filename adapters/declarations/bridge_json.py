"""The Ningbo customs bridge's JSON input (INV101 / SAS121 / ICP101) read into the customs sections.

Some firms keep their declarations as the JSON a bridge service (ronannnn/gx-customs-bridge)
takes before it writes the enterprise import XML: either one document `{"head": {...}, "list":
[...], "acmp": [...]}` (SAS121) / `{"head": {...}, "rltList": [...]}` (ICP101), or one part of
it as a flat object (a head, one list line, one related-document row). Field names are the
import format's camelCased (`invtType`, `seqNo`, `passportSeqNo`, `rtlBillNo`, ...), so they are
renamed like `enterprise` does, and the message type is inferred from the keys (the file name,
e.g. `sas121_head.json`, only breaks a tie).

Values stay wire text: JSON numbers are read as Decimal (never float) and written back as plain
digits, strings are kept as sent (the row converters make them Decimal or aware times). NaN,
Infinity, booleans, NUL characters, nested values inside a row and repeated keys are refused
(`bad_json`); an object whose
keys match no bridge message is `unknown_json`.
"""

from __future__ import annotations

import codecs
import json
import re
from decimal import Decimal
from typing import Any

from adapters.declarations import enterprise
from connector.errors import BadInputError

# (message type, wrapper key, customs section, keys only that part carries); the first match wins
PARTS = (
    ("INV101", "head", "BondInvtBsc", {"etpsInnerInvtNo", "putrecNo", "invtType", "bondInvtTypecd", "bondInvtNo"}),
    ("INV101", "list", "BondInvtDt", {"entryGdsSeqno", "gdsSeqno", "putrecSeqno"}),
    ("SAS121", "head", "SasPassportBsc", {"passportTypecd", "bindTypecd", "ioTypecd", "rltTbTypecd"}),
    ("SAS121", "list", "SasPassportDt", {"passportSeqNo", "passportSeqno"}),
    ("SAS121", "acmp", "SasPassportRlt", {"rtlBillNo", "rtlBillTypecd"}),
    ("ICP101", "head", "Sas2stepPassportBsc", {"etpsPreentNo", "sasPassportPreentNo", "passportNo", "vehicleNo"}),
    ("ICP101", "rltList", "Sas2stepPassportRlt", {"entryId"}),
)
# (customs section, bridge field) -> customs field, beyond the import format's renames
RENAMED = {("BondInvtBsc", "passportUsedTypeCd"): "passportUsedTypecd",
           ("SasPassportDt", "passportSeqNo"): "passportSeqno",
           ("SasPassportRlt", "passPortNo"): "passportNo"}
_TYPE_IN_NAME = re.compile(r"(inv101|sas121|icp101)", re.IGNORECASE)


def is_json_object(data: bytes) -> bool:
    """True when the bytes (after a UTF-8 BOM and blanks) open a JSON object."""
    return data.removeprefix(codecs.BOM_UTF8).lstrip()[:1] == b"{"


def read(data: bytes, name: str) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """(message type, rows by customs section) of one bridge JSON file."""
    document = _load(data, name)
    if any(isinstance(v, (dict, list)) for v in document.values()):
        return _wrapped(document, name)
    message_type, _, section = _classify(document, name)
    return message_type, {section: [_row(section, document, name)]}


def _load(data: bytes, name: str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError("bad_encoding", f"{name}: JSON is not valid utf-8 at byte {exc.start}") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant,
                          object_pairs_hook=_no_repeats)
    except (ValueError, RecursionError) as exc:
        raise BadInputError("bad_json", f"{name}: {exc}") from None


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a number customs accepts")


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice")
        out[key] = value
    return out


def _wrapped(document: dict[str, Any], name: str) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """`{"head": {...}, "list"/"acmp"/"rltList": [...]}`: the head (else the first part) decides the type."""
    parts = {key: value if isinstance(value, list) else [value] for key, value in document.items()}
    first = parts.get("head") or next((p for p in parts.values() if p), [None])
    if not isinstance(first[0], dict):
        raise BadInputError("unknown_json", f"{name}: no head object")
    message_type = _classify(first[0], name)[0]
    sections = {key: section for t, key, section, _ in PARTS if t == message_type}
    rows: dict[str, list[dict[str, Any]]] = {}
    for key, items in parts.items():
        if key not in sections:
            raise BadInputError("unknown_json", f"{name}: {message_type} has no part {key!r}")
        rows[sections[key]] = [_row(sections[key], item, name) for item in items]
    return message_type, rows


def _classify(part: dict[str, Any], name: str) -> tuple[str, str, str]:
    """(message type, wrapper key, section) of one part; a type named in the file name is tried first."""
    keys = {enterprise.camel(k) for k in part}
    hint = _TYPE_IN_NAME.search(name)
    hinted = hint.group(1).upper() if hint else None
    for message_type, key, section, markers in sorted(PARTS, key=lambda p: p[0] != hinted):
        if keys & markers:
            return message_type, key, section
    raise BadInputError("unknown_json", f"{name}: a JSON object that is no INV101/SAS121/ICP101 bridge message")


def _row(section: str, item: Any, name: str) -> dict[str, str | None]:
    if not isinstance(item, dict):
        raise BadInputError("bad_json", f"{name}: {section} row is not an object")
    row = {}
    for key, value in item.items():
        camel = enterprise.camel(key)
        wire = RENAMED.get((section, camel)) or enterprise.RENAMED.get((section, key[:1].upper() + key[1:]), camel)
        if wire in row:
            raise BadInputError("bad_json", f"{name}: {section}.{wire} is given twice ({key!r})")
        row[wire] = _text(value, f"{name}: {section}.{key}")
    return row


def _text(value: Any, where: str) -> str | None:
    """Wire text of a JSON value: numbers exact (Decimal, plain digits), strings trimmed."""
    if value is None:
        return None
    if isinstance(value, (bool, dict, list)):
        raise BadInputError("bad_json", f"{where} is {type(value).__name__}, not a customs value")
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)  # plain digits, unless absurd: to_decimal refuses "1E+999" as out of range
        return format(number, "f") if number.is_zero() or abs(number.adjusted()) < 40 else str(number)
    if "\x00" in value:  # JSON can escape it, XML cannot carry it, PostgreSQL text refuses it
        raise BadInputError("bad_json", f"{where} holds a NUL character")
    return value.strip() or None
