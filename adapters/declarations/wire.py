"""Customs message files parsed into plain rows: both wire formats (DOMAIN.md §1.2), zipped or not.

The customs (data-centre) format `Package/.../BussinessData/<TYPE>/<Section>` with camelCase
fields, with or without a default namespace, and the enterprise import format
`Signature/Object/Package/.../BussinessData/<XxxMessage>` with PascalCase fields (see
`enterprise`, which renames it into the customs sections), in a plain file or a zip holding one.
A JSON object is the Ningbo bridge's input for INV101 / SAS121 / ICP101 (`bridge_json`), read
into the same sections.

A pure function of the file's bytes: no store, no clock, no time zones. Values stay the strings
customs sent (whitespace-trimmed; empty elements become None) so the ingestion stage decides how
to convert them, and every problem is a BadInputError naming the file.

`DeclarationDocument.rows` is keyed by the customs section (XSD complex type) name, e.g.
`HdeApprResult`, `BondInvtBsc`, `BondInvtDt`, `BwsDt`, `SasPassportBsc`, `SasPassportDt`,
`SasPassportRlt`, `InvApprResult`, `MsgReceResult`, `CommonResponeMessage`, plus the envelope's
`PocketInfo` (a large message may come split into several pockets), and each row by the wire
field names.

Untrusted XML (RELIABILITY.md §B4, §B5 item 23): the size is capped before anything is parsed,
any DTD is refused (that covers XXE and entity bombs), and namespaces are ignored because some
receipts carry `xmlns="http://www.w3.org/2000/09/xmldsig#"` on `Package` and others none.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from adapters.declarations import _zip, bridge_json, enterprise
from connector.abc import DeclarationDocument
from connector.errors import BadInputError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
COMMON_RESPONSE = "CommonResponeMessage"  # sic: the Single Window client's import result

# Every message type read in detail or recorded (DOMAIN.md §1.1), with the sections it must carry.
# A type not listed is still parsed (generically) and kept: the ingestion stage reports it.
_HDE = ("HdeApprResult",)
REQUIRED_SECTIONS: dict[str, tuple[str, ...]] = {
    "INV101": (), "INV201": _HDE, "INV202": ("InvApprResult",), "INV211": ("BondInvtBsc",),
    "SAS101": (), "SAS111": (), "SAS121": (), "ICP101": (), "BWS101": (),
    "SAS201": _HDE, "SAS202": _HDE, "SAS203": _HDE, "SAS211": _HDE, "SAS212": _HDE, "SAS213": _HDE,
    "SAS221": _HDE, "SAS222": _HDE, "SAS223": ("HdeApprResult", "SasPassportBsc"), "SAS224": _HDE,
    "SAS231": _HDE, "SAS251": (), "SAS253": _HDE, "BWS201": _HDE, "EMS221": _HDE,
    "INV200": (), "SAS200": (), "BWS200": (),  # MsgReceResult (stored / store failed) is optional
    COMMON_RESPONSE: (COMMON_RESPONSE,),
    "LEDGER_QUERY": ("LedgerQuery",),  # not a customs message: a ledger-query API answer (ledger_api.py)
}


def is_known(message_type: str) -> bool:
    return message_type in REQUIRED_SECTIONS


_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def parse(data: bytes, name: str, *, max_bytes: int = DEFAULT_MAX_BYTES,
          encoding: str = "utf-8") -> DeclarationDocument:
    """Parse one message file. `encoding` applies only when the XML declares none (and has no BOM).

    The document's sha256 and `raw` are those of the bytes as received (the zip, when zipped).
    """
    if len(data) > max_bytes:
        raise BadInputError("too_large", f"{name}: {len(data)} bytes, limit {max_bytes}")
    xml = _zip.unzip_one(data, name, max_bytes)[1] if _zip.is_zip(data) else data
    if bridge_json.is_json_object(xml):  # the Ningbo bridge's JSON input (INV101/SAS121/ICP101)
        (message_type, rows), message_id = bridge_json.read(xml, name), None
    else:
        message_type, message_id, rows = _read(_parse_xml(_decode(xml, name, encoding), name), name)
    if message_type in REQUIRED_SECTIONS:
        _require_sections(message_type, rows, name)
    return DeclarationDocument(name, hashlib.sha256(data).hexdigest(), message_type, message_id, rows, raw=data)


def _decode(data: bytes, name: str, default: str) -> str:
    """Decode ourselves: expat refuses multi-byte encodings such as GBK named in the declaration."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode_as(data, codec, name)
    head = data.lstrip()
    if not head.startswith(b"<"):
        raise BadInputError("not_xml", f"{name}: does not start with '<'")
    declared = _DECLARED_ENCODING.match(head[:400])
    return _decode_as(data, declared.group(1).decode("ascii") if declared else default, name)


def _decode_as(data: bytes, codec: str, name: str) -> str:
    try:
        return data.decode(codec)
    except LookupError:
        raise BadInputError("bad_encoding", f"{name}: unknown encoding {codec!r}") from None
    except UnicodeDecodeError as exc:
        raise BadInputError("bad_encoding", f"{name}: not valid {codec} at byte {exc.start}") from None


def _parse_xml(text: str, name: str) -> Element:
    """Parse with every DTD refused: customs receipts never carry one, attacks always do."""
    try:
        root = SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BadInputError("unsafe_xml", f"{name}: {type(exc).__name__}") from None
    except ParseError as exc:
        raise BadInputError("not_xml", f"{name}: {exc}") from None
    for element in root.iter():
        element.tag = _local(element.tag)
    return root


def _local(tag: Any) -> str:
    """`{namespace}name` -> `name`; comments and processing instructions have non-str tags."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _read(root: Element, name: str) -> tuple[str, str | None, dict[str, list[dict[str, Any]]]]:
    """(message_type, message_id, rows by section) of either format."""
    if root.tag == COMMON_RESPONSE:
        return COMMON_RESPONSE, None, _sections(_wrap(root))
    package = root if root.tag == "Package" else root.find("Object/Package")
    envelope = package.find("EnvelopInfo") if package is not None else None
    if envelope is None:
        raise BadInputError("missing_field", f"{name}: no Package/EnvelopInfo (root <{root.tag}>)")
    message_type = _text(envelope.find("message_type"))
    if message_type is None:
        raise BadInputError("missing_field", f"{name}: no EnvelopInfo/message_type")
    business = package.find("DataInfo/BussinessData")
    if business is None:
        raise BadInputError("missing_field", f"{name}: no DataInfo/BussinessData")
    rows = enterprise.sections(business) if enterprise.is_enterprise(business) else _customs(
        business, message_type, name)
    pocket = package.find("DataInfo/PocketInfo")
    if pocket is not None and len(pocket):
        rows["PocketInfo"] = [_fields(pocket)]
    return message_type, _text(envelope.find("message_id")), rows


def _customs(business: Element, message_type: str, name: str) -> dict[str, list[dict[str, Any]]]:
    body = business.find(message_type)
    if body is None and message_type in REQUIRED_SECTIONS:
        raise BadInputError("missing_field", f"{name}: no DataInfo/BussinessData/{message_type}")
    return _sections(body if body is not None else business)


def _wrap(element: Element) -> Element:
    """A parent holding `element`, so a CommonResponeMessage reads as a one-section body."""
    parent = Element("body")
    parent.append(element)
    return parent


def _sections(body: Element) -> dict[str, list[dict[str, Any]]]:
    """Each child element with children is one row of the section named by its tag."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for section in body:
        if section.tag and len(section):
            rows.setdefault(section.tag, []).append(_fields(section))
    return rows


def _fields(section: Element) -> dict[str, str | None]:
    return {field.tag: _text(field) for field in section if field.tag}


def _text(element: Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _require_sections(message_type: str, rows: dict[str, list[dict[str, Any]]], name: str) -> None:
    missing = [s for s in REQUIRED_SECTIONS[message_type] if not rows.get(s)]
    if missing:
        raise BadInputError("missing_field", f"{name}: {message_type} without {', '.join(missing)}")
