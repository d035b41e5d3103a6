"""Wire rows of one declaration document -> store rows: typed, validated, ranked. Pure functions.

Which message types fill which tables: 核注清单 heads/lines and 集报 links from INV101/201/211,
核放单 heads/lines/links from SAS121/221-224 and the two-step ICP101/SAS251/253, 出入库单 from
SAS111/211-213, 业务申报表 from SAS101/201-203, ledger lines (BwsDt) from INV211, BWS101/201 and
ledger queries, vehicles from SAS231 and write-offs from EMS221 (`_declaration_approvals`). Values
convert in `_declaration_values`; any unusable value refuses the whole file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from connector import _declaration_specs as spec
from connector._declaration_approvals import APPROVAL_TYPES, add_approvals
from connector._declaration_values import Reader, check_length
from connector.abc import DeclarationDocument
from connector.store import tables as t

# Receipt ranking (DOMAIN.md §1.7, bssp ReceiptKindConstant): a later receipt of lower rank must
# not overwrite a head. FINAL goes beyond bssp on purpose: the posting receipt (INV211, or any
# head with vrfdedMarkcd 2/3) and the gate-pass receipt (SAS223/SAS253 result 1) are the newest
# state of a document, so they must win over the approval that preceded them. What the firm
# itself declared (INV101, SAS121, ...) ranks lowest: customs' word always wins over it.
RANK_DECLARED = RANK_UNKNOWN = 0
RANK_STORED, RANK_REVIEW, RANK_APPROVED, RANK_FINAL = 1, 2, 3, 4
_RESULT_RANK = {"Y": RANK_STORED, "Z": RANK_STORED, "2": RANK_REVIEW, "3": RANK_REVIEW,
                "1": RANK_APPROVED, "4": RANK_APPROVED, "5": RANK_APPROVED}
_GATE_PASS = ("SAS223", "SAS253")
# the firm's own number of a declaration customs has not numbered yet: its receipt's business id
_DRAFT_IDS = (("BondInvtBsc", "etpsInnerInvtNo"), ("SasPassportBsc", "etpsPreentNo"),
              ("Sas2stepPassportBsc", "etpsPreentNo"))


@dataclass(frozen=True)
class Records:
    """Everything one document writes, in store column names (ids and timestamps added later)."""

    receipt: dict[str, Any]
    rank: int
    partial: bool = False  # one pocket of several: its lines add to the stored ones
    bond_invt_heads: list[dict[str, Any]] = field(default_factory=list)
    bond_invt_lines: list[dict[str, Any]] = field(default_factory=list)
    cent_dcl_stock_links: list[dict[str, Any]] = field(default_factory=list)
    ledger_lines: list[dict[str, Any]] = field(default_factory=list)
    passports: list[dict[str, Any]] = field(default_factory=list)
    passport_lines: list[dict[str, Any]] = field(default_factory=list)
    passport_links: list[dict[str, Any]] = field(default_factory=list)
    passport_entry_links: list[dict[str, Any]] = field(default_factory=list)
    stock_bills: list[dict[str, Any]] = field(default_factory=list)
    stock_bill_lines: list[dict[str, Any]] = field(default_factory=list)
    business_forms: list[dict[str, Any]] = field(default_factory=list)
    business_form_lines: list[dict[str, Any]] = field(default_factory=list)
    vehicles: list[dict[str, Any]] = field(default_factory=list)
    writeoffs: list[dict[str, Any]] = field(default_factory=list)
    writeoff_lines: list[dict[str, Any]] = field(default_factory=list)


def to_records(doc: DeclarationDocument, zone: tzinfo) -> Records:
    """The store rows for one parsed document; BadInputError if any value is unusable."""
    reader = Reader(doc.name, zone)
    receipt = _receipt(reader, doc)
    check_length(t.bond_invt_heads, "manage_result", receipt["manage_result"], f"{doc.name}: result")
    check_length(t.receipts, "message_id", doc.message_id, f"{doc.name}: EnvelopInfo.message_id")
    check_length(t.receipts, "file_name", doc.name, f"{doc.name}: file name")
    heads = _list_heads(reader, doc)
    rank = receipt_rank(doc.message_type, receipt["manage_result"], heads)
    receipt.update(result_rank=rank, doc_state=_doc_state(doc))
    records = Records(receipt, rank, partial=_is_partial(reader, doc),
                      ledger_lines=_ledger_lines(reader, doc, heads, receipt))
    if doc.message_type in spec.LIST_TYPES:
        _add_lists(reader, doc, records, heads)
    elif doc.message_type in spec.PASSPORT_TYPES:
        _add_passports(reader, doc, records)
    elif doc.message_type in spec.STOCK_TYPES:
        _add_ranked(reader, doc, records, "SasStockBsc", "SasStockDt", "stock_bills", "stock_bill_lines")
    elif doc.message_type in spec.FORM_TYPES:
        _add_ranked(reader, doc, records, "SasDclBsc", "SasDclDt", "business_forms", "business_form_lines")
    elif doc.message_type in APPROVAL_TYPES:
        add_approvals(reader, doc, records)
    return records


def receipt_rank(message_type: str, manage_result: str | None, heads: list[dict[str, Any]]) -> int:
    """Rank of a receipt for the head it describes (higher wins; equal rank: the later one wins)."""
    if message_type in spec.DECLARED_TYPES:
        return RANK_DECLARED
    if message_type == "INV211" or any(h["vrfded_markcd"] in ("2", "3") for h in heads):
        return RANK_FINAL
    if message_type in _GATE_PASS:
        return RANK_FINAL if manage_result == "1" else RANK_APPROVED
    return _RESULT_RANK.get(manage_result or "", RANK_UNKNOWN)


def _receipt(reader: Reader, doc: DeclarationDocument) -> dict[str, Any]:
    receipt: dict[str, Any] = {"business_id": None, "manage_result": None, "manage_date": None}
    for section, business_id, result, date in spec.RECEIPT_SOURCES:
        if doc.rows.get(section):
            fields = tuple((column, wire, kind) for column, wire, kind in (
                ("business_id", business_id, "str"), ("manage_result", result, "str"),
                ("manage_date", date, "time")) if wire)
            found = reader.row(section, t.receipts, fields, doc.rows[section][0])
            receipt.update({k: v for k, v in found.items() if v is not None})
            if receipt["business_id"] is not None:
                break
    for section, inner in _DRAFT_IDS:  # INV101 / SAS121 / ICP101 before customs numbered it
        if receipt["business_id"] is None and doc.rows.get(section):
            receipt["business_id"] = doc.rows[section][0].get(inner)
            check_length(t.receipts, "business_id", receipt["business_id"], f"{doc.name}: {inner}")
    return receipt


def _doc_state(doc: DeclarationDocument) -> str | None:
    """The status fields the receipt reports, e.g. `vrfdedMarkcd=1 listStat=0` (for the history)."""
    for section, names in spec.STATE_FIELDS.items():
        if doc.rows.get(section):
            head = doc.rows[section][0]
            text = " ".join(f"{n}={head[n]}" for n in names if head.get(n) is not None)
            return text[:100] or None
    return None


def _is_partial(reader: Reader, doc: DeclarationDocument) -> bool:
    pocket = (doc.rows.get("PocketInfo") or [{}])[0].get("total_pocket_qty")
    return pocket is not None and reader.value(pocket, "int", f"{doc.name}: PocketInfo.total_pocket_qty") > 1


def _list_heads(reader: Reader, doc: DeclarationDocument) -> list[dict[str, Any]]:
    """BondInvtBsc heads; a declared INV101 not yet numbered by customs has none to store."""
    raw = doc.rows.get("BondInvtBsc", [])
    if doc.message_type == "INV101" and not any(r.get("bondInvtNo") for r in raw):
        return []
    return reader.rows(doc, "BondInvtBsc", t.bond_invt_heads, spec.HEAD_FIELDS)


def _add_lists(reader: Reader, doc: DeclarationDocument, records: Records, heads: list) -> None:
    """Heads from BondInvtBsc, or a status-only head from a receipt that carries none."""
    result = records.receipt["manage_result"]
    for head in heads:
        records.bond_invt_heads.append({**head, "manage_result": result, "result_rank": records.rank})
    if not heads and doc.rows.get("HdeApprResult") and records.receipt["business_id"]:
        records.bond_invt_heads.append(_status_head(t.bond_invt_heads, "bond_invt_no", records, doc.name))
    if not records.bond_invt_heads:
        return
    head_no = records.bond_invt_heads[0]["bond_invt_no"]
    records.bond_invt_lines.extend(
        reader.rows(doc, "BondInvtDt", t.bond_invt_lines, spec.LIST_LINE_FIELDS, bondInvtNo=head_no))
    records.cent_dcl_stock_links.extend(_unique(reader.rows(
        doc, "SasCentDclStock", t.metadata.tables["cent_dcl_stock_links"], spec.CENT_LINK_FIELDS,
        bondInvtNo=head_no)))


def _add_passports(reader: Reader, doc: DeclarationDocument, records: Records) -> None:
    section = "Sas2stepPassportBsc" if doc.rows.get("Sas2stepPassportBsc") else "SasPassportBsc"
    heads = [] if _unnumbered(doc, section, "passportNo") else reader.rows(
        doc, section, t.passports, spec.PASSPORT_FIELDS)
    for head in heads:
        head.update(manage_result=records.receipt["manage_result"], result_rank=records.rank)
    if not heads and doc.rows.get("HdeApprResult") and records.receipt["business_id"]:
        heads = [_status_head(t.passports, "passport_no", records, doc.name)]
    if not heads:
        return
    records.passports.extend(heads)
    head_no = heads[0]["passport_no"]
    records.passport_lines.extend(
        reader.rows(doc, "SasPassportDt", t.passport_lines, spec.PASSPORT_LINE_FIELDS, passportNo=head_no))
    links = reader.rows(doc, "SasPassportRlt", t.passport_links, spec.LINK_FIELDS, passportNo=head_no)
    records.passport_links.extend(_unique(links + _head_links(reader, doc)))
    records.passport_entry_links.extend(_unique(reader.rows(  # two-step: the 报关单 numbers it carries
        doc, "Sas2stepPassportRlt", t.metadata.tables["passport_entry_links"], spec.ENTRY_LINK_FIELDS,
        passportNo=head_no)))


def _add_ranked(reader: Reader, doc: DeclarationDocument, records: Records, head_section: str,
                line_section: str, head_attr: str, line_attr: str) -> None:
    """出入库单 / 业务申报表: a head (or a status-only one from HdeApprResult) and its lines."""
    table, line_table = (t.metadata.tables[head_attr], t.metadata.tables[line_attr])
    head_spec, line_spec = ((spec.STOCK_FIELDS, spec.STOCK_LINE_FIELDS) if head_attr == "stock_bills"
                            else (spec.FORM_FIELDS, spec.FORM_LINE_FIELDS))
    key, wire_key = head_spec[0][0], head_spec[0][1]
    heads = [] if _unnumbered(doc, head_section, wire_key) else reader.rows(doc, head_section, table, head_spec)
    for head in heads:
        head.update(manage_result=records.receipt["manage_result"], result_rank=records.rank)
    if not heads and doc.rows.get("HdeApprResult") and records.receipt["business_id"]:
        heads = [_status_head(table, key, records, doc.name)]
    if not heads:
        return
    getattr(records, head_attr).extend(heads)
    getattr(records, line_attr).extend(
        reader.rows(doc, line_section, line_table, line_spec, **{wire_key: heads[0][key]}))


def _unnumbered(doc: DeclarationDocument, section: str, wire_key: str) -> bool:
    """A declaration the firm sent before customs gave it a number: nothing to key a head by."""
    return doc.message_type in spec.DECLARED_TYPES and not any(
        r.get(wire_key) for r in doc.rows.get(section, []))


def _status_head(table, key: str, records: Records, name: str) -> dict[str, Any]:
    """A receipt with HdeApprResult only: it can still move the head's status (never its data)."""
    head = {key: records.receipt["business_id"], "manage_result": records.receipt["manage_result"]}
    for column, value in head.items():
        check_length(table, column, value, f"{name}: HdeApprResult ({column})")
    return {**head, "result_rank": records.rank}


def _head_links(reader: Reader, doc: DeclarationDocument) -> list[dict[str, Any]]:
    """SasPassportBsc.rltNo: for 一车多票 customs joins several numbers with a backslash."""
    links = []
    for head in doc.rows.get("SasPassportBsc", []):
        for number in (head.get("rltNo") or "").split("\\"):
            if number.strip() and head.get("rltTbTypecd") and head.get("passportNo"):
                raw = {**head, "rltNo": number.strip()}
                links.append(reader.row("SasPassportBsc", t.passport_links, spec.LINK_FIELDS, raw))
    return links


def _ledger_lines(reader: Reader, doc: DeclarationDocument, heads: list, receipt: dict) -> list[dict[str, Any]]:
    """BwsDt lines; `as_of` is the posting time of the list that produced them (else the receipt's)."""
    as_of = heads[0]["formal_vrfded_time"] if heads else receipt["manage_date"]
    rows = reader.rows(doc, "BwsDt", t.ledger_lines, spec.LEDGER_LINE_FIELDS)
    return [{**row, "as_of": as_of} for row in rows]


def _unique(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(tuple(row.values()), row)
    return list(seen.values())
