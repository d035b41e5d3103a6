"""The enterprise import format (DOMAIN.md §1.2 a) read into the customs format's sections.

What a firm (or its broker) writes into the Single Window client's OutBox:
`Signature/Object/Package/DataInfo/BussinessData/<XxxMessage>` with PascalCase fields, plus
`DelcareFlag` (sic; 0 暂存 draft, 1 申报 declare). Each message's sections are renamed to the XSD
section names of the customs format and each field to its camelCase wire name, so one set of
rules (`connector._declaration_rows`) reads both formats. Sections this table does not know keep
their own name (fields still camelCased); the message's loose leaf elements (`SysId`,
`OperCusRegCode`, `DelcareFlag`) become one `EnterpriseInfo` row.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

ENTERPRISE_INFO = "EnterpriseInfo"

# enterprise message element -> {enterprise section: customs section}
MESSAGES: dict[str, dict[str, str]] = {
    "InvtMessage": {"InvtHeadType": "BondInvtBsc", "InvtListType": "BondInvtDt",
                    "SasCentDclStock": "SasCentDclStock", "InvtDecHeadType": "InvtDecHeadType",
                    "InvtDecListType": "InvtDecListType"},
    "PassPortMessage": {"PassportHead": "SasPassportBsc", "PassportList": "SasPassportDt",
                        "PassportAcmp": "SasPassportRlt"},
    "Sas2sPassPortMessage": {"Sas2sPassportHead": "Sas2stepPassportBsc", "Sas2sPassportRlt": "Sas2stepPassportRlt"},
    "BwlMessage": {"BwlHead": "BwsBsc", "BwlList": "BwsDt"},
    "SasDclMessage": {"SasDclHead": "SasDclBsc", "SasDclList": "SasDclDt", "SasDclBsc": "SasDclBsc",
                      "SasDclDt": "SasDclDt"},
    "SasStockMessage": {"SasStockHead": "SasStockBsc", "SasStockList": "SasStockDt", "SasStockBsc": "SasStockBsc",
                        "SasStockDt": "SasStockDt"},
}

# (customs section, enterprise field) -> customs field, where lower-casing the first letter is wrong
RENAMED: dict[tuple[str, str], str] = {
    ("BondInvtBsc", "SeqNo"): "invtPreentNo",
    ("BondInvtBsc", "InvtType"): "bondInvtTypecd",
    ("SasPassportBsc", "SeqNo"): "sasPassportPreentNo",
    ("SasPassportRlt", "RtlBillTypecd"): "rltTbTypecd",  # sic "Rtl" in the import format
    ("SasPassportRlt", "RtlBillNo"): "rltNo",
    ("Sas2stepPassportBsc", "SeqNo"): "sasPassportPreentNo",
    ("BwsBsc", "BwlNo"): "bwsNo",
    ("BwsDt", "BwlNo"): "bwsNo",
}


def is_enterprise(business_data: Element) -> bool:
    """True when BussinessData holds an enterprise message (or the DelcareFlag only it has)."""
    return any(child.tag in MESSAGES or child.tag == "DelcareFlag" for child in business_data)


def sections(business_data: Element) -> dict[str, list[dict[str, Any]]]:
    """The customs-format rows of an enterprise message."""
    rows: dict[str, list[dict[str, Any]]] = {}
    info: dict[str, Any] = {}
    for message in business_data:
        if not len(message):
            info[message.tag] = _text(message)
            continue
        names = MESSAGES.get(message.tag, {})
        for section in message:
            if len(section):
                target = names.get(section.tag, section.tag)
                rows.setdefault(target, []).append(_fields(target, section))
            elif section.tag:
                info[section.tag] = _text(section)
    if info:
        rows[ENTERPRISE_INFO] = [info]
    return rows


def _fields(target: str, section: Element) -> dict[str, Any]:
    return {RENAMED.get((target, field.tag), camel(field.tag)): _text(field) for field in section if field.tag}


def camel(name: str) -> str:
    """`BondInvtNo` -> `bondInvtNo`: the customs format's name of an import-format field."""
    return name[:1].lower() + name[1:]


def _text(element: Element) -> str | None:
    return element.text.strip() or None if element.text is not None else None
