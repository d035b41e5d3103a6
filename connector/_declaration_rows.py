"""Wire rows of one declaration document -> store rows: typed, validated, ranked. Pure functions.

Quantities become Decimal (never float; NaN, Infinity and out-of-range values are refused), customs
times `yyyy-MM-dd HH:mm:ss` are read in the source's time zone and become aware datetimes, serial
numbers become int. Anything that does not convert is a BadInputError, so the whole file goes to
quarantine instead of half of it reaching the store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import String, Table

from connector.abc import DeclarationDocument
from connector.errors import BadInputError
from connector.store import tables as t

MAX_INTEGER_DIGITS = 14  # customs quantities are decimal(19,5)
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")
_INTEGER = re.compile(r"[+-]?\d{1,18}")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%Y%m%d")

# Receipt ranking (DOMAIN.md §1.7, bssp ReceiptKindConstant): a later receipt of lower rank must
# not overwrite a head. FINAL goes beyond bssp on purpose: the posting receipt (INV211, or any
# head with vrfdedMarkcd 2/3) and the gate-pass receipt (SAS223 result 1) are the newest state of
# a document, so they must win over the approval that preceded them.
RANK_UNKNOWN, RANK_STORED, RANK_REVIEW, RANK_APPROVED, RANK_FINAL = 0, 1, 2, 3, 4
_RESULT_RANK = {"Y": RANK_STORED, "Z": RANK_STORED, "2": RANK_REVIEW, "3": RANK_REVIEW,
                "1": RANK_APPROVED, "4": RANK_APPROVED, "5": RANK_APPROVED}

# (column, wire field, kind); kind: str | int | dec | time; a trailing "!" means required.
HEAD_FIELDS = (
    ("bond_invt_no", "bondInvtNo", "str!"), ("etps_inner_invt_no", "etpsInnerInvtNo", "str"),
    ("invt_preent_no", "invtPreentNo", "str"), ("putrec_no", "putrecNo", "str"),
    ("impexp_markcd", "impexpMarkcd", "str"), ("supv_modecd", "supvModecd", "str"),
    ("bond_invt_typecd", "bondInvtTypecd", "str"), ("vrfded_markcd", "vrfdedMarkcd", "str"),
    ("invt_stucd", "invtStucd", "str"), ("entry_stucd", "entryStucd", "str"),
    ("invt_dcl_time", "invtDclTime", "time"), ("prevd_time", "prevdTime", "time"),
    ("formal_vrfded_time", "formalVrfdedTime", "time"))
LIST_LINE_FIELDS = (
    ("bond_invt_no", "bondInvtNo", "str!"), ("gds_seqno", "gdsSeqno", "int!"),
    ("putrec_seqno", "putrecSeqno", "int"), ("gds_mtno", "gdsMtno", "str"), ("gdecd", "gdecd", "str"),
    ("gds_nm", "gdsNm", "str"), ("dcl_unitcd", "dclUnitcd", "str"), ("dcl_qty", "dclQty", "dec"),
    ("lawf_unitcd", "lawfUnitcd", "str"), ("lawf_qty", "lawfQty", "dec"))
LEDGER_LINE_FIELDS = (
    ("bws_no", "bwsNo", "str!"), ("gds_seqno", "gdsSeqno", "int!"), ("gds_mtno", "gdsMtno", "str"),
    ("gdecd", "gdecd", "str"), ("gds_nm", "gdsNm", "str"), ("dcl_unitcd", "dclUnitcd", "str"),
    ("lawf_unitcd", "lawfUnitcd", "str"), ("in_qty", "inQty", "dec"),
    ("actl_inc_qty", "actlIncQty", "dec"), ("actl_redc_qty", "actlRedcQty", "dec"),
    ("prevd_inc_qty", "prevdIncQty", "dec"), ("prevd_redc_qty", "prevdRedcQty", "dec"),
    ("invt_no", "invtNo", "str"), ("invt_g_no", "invtGNo", "int"), ("modf_markcd", "modfMarkcd", "str"))
PASSPORT_FIELDS = (
    ("passport_no", "passportNo", "str!"), ("passport_typecd", "passportTypecd", "str"),
    ("io_typecd", "ioTypecd", "str"), ("bind_typecd", "bindTypecd", "str"),
    ("rlt_tb_typecd", "rltTbTypecd", "str"), ("rlt_no", "rltNo", "str"), ("stucd", "stucd", "str"),
    ("vehicle_no", "vehicleNo", "str"), ("total_wt", "totalWt", "dec"),
    ("total_gross_wt", "totalGrossWt", "dec"), ("pass_collect_wt", "passCollectWt", "dec"),
    ("wt_error", "wtError", "dec"), ("dcl_time", "dclTime", "time"), ("pass_time", "passTime", "time"))
PASSPORT_LINE_FIELDS = (
    ("passport_no", "passportNo", "str!"), ("passport_seqno", "passportSeqno", "int!"),
    ("rlt_gds_seqno", "rltGdsSeqno", "int"), ("gds_mtno", "gdsMtno", "str"), ("gdecd", "gdecd", "str"),
    ("dcl_unitcd", "dclUnitcd", "str"), ("dcl_qty", "dclQty", "dec"), ("gross_wt", "grossWt", "dec"),
    ("net_wt", "netWt", "dec"))
LINK_FIELDS = (("passport_no", "passportNo", "str!"), ("rlt_tb_typecd", "rltTbTypecd", "str!"),
               ("rlt_no", "rltNo", "str!"))
RECEIPT_SOURCES = (  # section, business id, result, date: the first section present wins
    ("HdeApprResult", "businessId", "manageResult", "manageDate"),
    ("InvApprResult", "businessId", "manageResult", "createDate"),
    ("MsgReceResult", "bizNo", "manageResult", "manageDate"),
    ("CommonResponeMessage", "SeqNo", "DealFlag", None),
    ("BondInvtBsc", "bondInvtNo", None, "formalVrfdedTime"))


@dataclass(frozen=True)
class Records:
    """Everything one document writes, in store column names (ids and timestamps added later)."""

    receipt: dict[str, Any]
    rank: int
    partial: bool = False  # one pocket of several: its lines add to the stored ones
    bond_invt_heads: list[dict[str, Any]] = field(default_factory=list)
    bond_invt_lines: list[dict[str, Any]] = field(default_factory=list)
    ledger_lines: list[dict[str, Any]] = field(default_factory=list)
    passports: list[dict[str, Any]] = field(default_factory=list)
    passport_lines: list[dict[str, Any]] = field(default_factory=list)
    passport_links: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Reader:
    """Converts one document's wire values; knows the file name and zone for every error."""

    name: str
    zone: tzinfo

    def rows(self, doc: DeclarationDocument, section: str, table: Table, spec: tuple,
             **defaults: Any) -> list[dict[str, Any]]:
        return [self.row(section, table, spec, {**_present(defaults), **_present(raw)})
                for raw in doc.rows.get(section, [])]

    def row(self, section: str, table: Table, spec: tuple, raw: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for column, wire, kind in spec:
            value = raw.get(wire)
            where = f"{self.name}: {section}.{wire}"
            if value is None and kind.endswith("!"):
                raise BadInputError("missing_field", f"{where} is empty")
            out[column] = None if value is None else self.value(value, kind.rstrip("!"), where)
            _check_length(table, column, out[column], where)
        return out

    def value(self, text: str, kind: str, where: str) -> Any:
        if kind == "dec":
            return to_decimal(text, where)
        if kind == "int":
            return to_int(text, where)
        if kind == "time":
            return to_time(text, self.zone, where)
        return text


def to_records(doc: DeclarationDocument, zone: tzinfo) -> Records:
    """The store rows for one parsed document; BadInputError if any value is unusable."""
    reader = _Reader(doc.name, zone)
    receipt = _receipt(reader, doc)
    _check_length(t.bond_invt_heads, "manage_result", receipt["manage_result"], f"{doc.name}: result")
    _check_length(t.receipts, "message_id", doc.message_id, f"{doc.name}: EnvelopInfo.message_id")
    _check_length(t.receipts, "file_name", doc.name, f"{doc.name}: file name")
    heads = reader.rows(doc, "BondInvtBsc", t.bond_invt_heads, HEAD_FIELDS)
    rank = receipt_rank(doc.message_type, receipt["manage_result"], heads)
    records = Records(receipt, rank, partial=_is_partial(doc),
                      ledger_lines=_ledger_lines(reader, doc, heads))
    if doc.message_type in ("INV201", "INV211"):
        _add_lists(reader, doc, records, heads)
    elif doc.message_type in ("SAS221", "SAS222", "SAS223"):
        _add_passports(reader, doc, records)
    return records


def receipt_rank(message_type: str, manage_result: str | None, heads: list[dict[str, Any]]) -> int:
    """Rank of a receipt for the head it describes (higher wins; equal rank: the later one wins)."""
    if message_type == "INV211" or any(h["vrfded_markcd"] in ("2", "3") for h in heads):
        return RANK_FINAL
    if message_type == "SAS223":
        return RANK_FINAL if manage_result == "1" else RANK_APPROVED
    return _RESULT_RANK.get(manage_result or "", RANK_UNKNOWN)


def _receipt(reader: _Reader, doc: DeclarationDocument) -> dict[str, Any]:
    receipt: dict[str, Any] = {"business_id": None, "manage_result": None, "manage_date": None}
    for section, business_id, result, date in RECEIPT_SOURCES:
        if doc.rows.get(section):
            spec = tuple((column, wire, kind) for column, wire, kind in (
                ("business_id", business_id, "str"), ("manage_result", result, "str"),
                ("manage_date", date, "time")) if wire)
            return {**receipt, **reader.row(section, t.receipts, spec, doc.rows[section][0])}
    return receipt


def _is_partial(doc: DeclarationDocument) -> bool:
    pocket = (doc.rows.get("PocketInfo") or [{}])[0].get("total_pocket_qty")
    return pocket is not None and to_int(pocket, f"{doc.name}: PocketInfo.total_pocket_qty") > 1


def _add_lists(reader: _Reader, doc: DeclarationDocument, records: Records, heads: list) -> None:
    """Heads from BondInvtBsc, or a status-only head from a receipt that carries none."""
    result = records.receipt["manage_result"]
    for head in heads:
        records.bond_invt_heads.append({**head, "manage_result": result, "result_rank": records.rank})
    if not heads and doc.rows.get("HdeApprResult") and records.receipt["business_id"]:
        records.bond_invt_heads.append(_status_head(t.bond_invt_heads, "bond_invt_no", records, doc.name))
    head_no = heads[0]["bond_invt_no"] if heads else None
    records.bond_invt_lines.extend(
        reader.rows(doc, "BondInvtDt", t.bond_invt_lines, LIST_LINE_FIELDS, bondInvtNo=head_no))


def _add_passports(reader: _Reader, doc: DeclarationDocument, records: Records) -> None:
    heads = reader.rows(doc, "SasPassportBsc", t.passports, PASSPORT_FIELDS)
    for head in heads:
        head.update(manage_result=records.receipt["manage_result"], result_rank=records.rank)
    if not heads and records.receipt["business_id"]:
        heads = [_status_head(t.passports, "passport_no", records, doc.name)]
    if not heads:
        return
    records.passports.extend(heads)
    head_no = heads[0]["passport_no"]
    records.passport_lines.extend(
        reader.rows(doc, "SasPassportDt", t.passport_lines, PASSPORT_LINE_FIELDS, passportNo=head_no))
    links = reader.rows(doc, "SasPassportRlt", t.passport_links, LINK_FIELDS, passportNo=head_no)
    records.passport_links.extend(_unique(links + _head_links(reader, doc)))


def _status_head(table: Table, key: str, records: Records, name: str) -> dict[str, Any]:
    """A receipt with HdeApprResult only: it can still move the head's status (never its data)."""
    head = {key: records.receipt["business_id"], "manage_result": records.receipt["manage_result"]}
    for column, value in head.items():
        _check_length(table, column, value, f"{name}: HdeApprResult ({column})")
    return {**head, "result_rank": records.rank}


def _head_links(reader: _Reader, doc: DeclarationDocument) -> list[dict[str, Any]]:
    """SasPassportBsc.rltNo: for 一车多票 customs joins several numbers with a backslash."""
    links = []
    for head in doc.rows.get("SasPassportBsc", []):
        for number in (head.get("rltNo") or "").split("\\"):
            if number.strip():
                raw = {**head, "rltNo": number.strip()}
                links.append(reader.row("SasPassportBsc", t.passport_links, LINK_FIELDS, raw))
    return links


def _ledger_lines(reader: _Reader, doc: DeclarationDocument, heads: list) -> list[dict[str, Any]]:
    """BwsDt lines; `as_of` is the posting time of the list that produced them."""
    as_of = heads[0]["formal_vrfded_time"] if heads else None
    rows = reader.rows(doc, "BwsDt", t.ledger_lines, LEDGER_LINE_FIELDS)
    return [{**row, "as_of": as_of} for row in rows]


def _unique(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(tuple(row.values()), row)
    return list(seen.values())


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _check_length(table: Table, column: str, value: Any, where: str) -> None:
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
