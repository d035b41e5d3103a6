"""SAS231 vehicle approvals and EMS221 write-off approvals -> store rows. Pure functions.

Neither has a real sample in the reference set: the sections and fields are those of
`SAS/SAS231.xsd` (SasVehicleBsc) and `EMS/EMS221.xsd` + `EMS/Common_ComplexType.xsd`
(EmsChgoffBsc, EmsChgoffDt). Each SasVehicleBsc is a `vehicles` head keyed by its plate; an
EmsChgoffBsc is a `writeoffs` head keyed by ledger number and write-off count, its EmsChgoffDt
lines (should-remain, actually-remaining and differing quantities, Decimal) its `writeoff_lines`.
Heads carry the receipt's result and rank like every ranked head (DOMAIN.md §1.7). A receipt
with HdeApprResult only is kept as a receipt: its businessId is not known to be the plate or the
ledger number, so it moves no head.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connector._declaration_values import Reader
from connector.abc import DeclarationDocument
from connector.store import tables  # noqa: F401  (first: it loads every table module in order)
from connector.store.messages_columns import WRITEOFF_COUNTS, WRITEOFF_LINE_QTYS
from connector.store.tables_messages import vehicles, writeoff_lines, writeoffs

if TYPE_CHECKING:
    from connector._declaration_rows import Records

APPROVAL_TYPES = ("SAS231", "EMS221")
# (column, wire field, kind) as in `_declaration_specs`
VEHICLE_FIELDS = (  # SAS231 SasVehicleBsc (no real sample: from SAS231.xsd)
    ("vehicle_no", "vehicleNo", "str!"), ("chg_tms_cnt", "chgTmsCnt", "int"),
    ("vehicle_typecd", "vehicleTypecd", "str"), ("master_cuscd", "masterCuscd", "str"),
    ("dcl_preent_no", "dclPreentNo", "str"), ("dcl_typecd", "dclTypecd", "str"),
    ("vehicle_cus_no", "vehicleCusNo", "str"), ("etpsno", "etpsno", "str"), ("etps_sccd", "etpsSccd", "str"),
    ("etps_nm", "etpsNm", "str"), ("vehicle_wt", "vehicleWt", "dec"), ("dcl_time", "dclTime", "time"),
    ("putrec_emapv_time", "putrecEmapvTime", "time"), ("chg_emapv_time", "chgEmapvTime", "time"),
    ("emapv_markcd", "emapvMarkcd", "str"), ("stucd", "stucd", "str"))


def _camel(column: str) -> str:
    first, *rest = column.split("_")
    return first + "".join(part.capitalize() for part in rest)


WRITEOFF_FIELDS = (  # EMS221 EmsChgoffBsc (no real sample: from EMS Common_ComplexType.xsd)
    ("ems_no", "emsNo", "str!"), ("chgoff_tms_cnt", "chgoffTmsCnt", "int!"),
    ("chgoff_typecd", "chgoffTypecd", "str"), ("master_cuscd", "masterCuscd", "str"),
    ("chgoff_begin_time", "chgoffBeginTime", "time"), ("chgoff_due_time", "chgoffDueTime", "time"),
    *((column, _camel(column), "int") for column in WRITEOFF_COUNTS),
    ("imp_mtpck_total_amt", "impMtpckTotalAmt", "dec"), ("exp_endprd_total_amt", "expEndprdTotalAmt", "dec"),
    ("chgoff_dcl_time", "chgoffDclTime", "time"), ("chgoff_markcd", "chgoffMarkcd", "str"),
    ("emapv_markcd", "emapvMarkcd", "str"), ("emapv_time", "emapvTime", "time"), ("dsps_markcd", "dspsMarkcd", "str"))
WRITEOFF_LINE_FIELDS = (  # EMS221 EmsChgoffDt: shdRemainQty, actlRemainQty, dsmlQty, ... all Decimal
    ("ems_no", "emsNo", "str!"), ("chgoff_tms_cnt", "chgoffTmsCnt", "int!"), ("typecd", "typecd", "str!"),
    ("seqno", "seqno", "int!"), *((column, _camel(column), "dec") for column in WRITEOFF_LINE_QTYS))


def add_approvals(reader: Reader, doc: DeclarationDocument, records: Records) -> None:
    """The vehicle (SAS231) or write-off (EMS221) heads and lines one receipt carries."""
    if doc.message_type == "SAS231":
        records.vehicles.extend(_heads(reader, doc, records, "SasVehicleBsc", vehicles, VEHICLE_FIELDS))
        return
    heads = _heads(reader, doc, records, "EmsChgoffBsc", writeoffs, WRITEOFF_FIELDS)
    records.writeoffs.extend(heads)
    if heads:
        raw = doc.rows["EmsChgoffBsc"][0]  # lines that omit the key belong to this head
        records.writeoff_lines.extend(reader.rows(doc, "EmsChgoffDt", writeoff_lines, WRITEOFF_LINE_FIELDS,
                                                  emsNo=raw.get("emsNo"), chgoffTmsCnt=raw.get("chgoffTmsCnt")))


def _heads(reader: Reader, doc: DeclarationDocument, records: Records, section: str, table,
           fields: tuple) -> list[dict[str, Any]]:
    heads = reader.rows(doc, section, table, fields)
    for head in heads:
        head.update(manage_result=records.receipt["manage_result"], result_rank=records.rank)
    return heads
