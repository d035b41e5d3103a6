"""Tables of the declaration stage beyond the core ones (issue 4, docs/messages.md).

- `raw_messages`: every customs message as received (zlib-compressed bytes + sha256), kept at
  least until `keep_until` (the source's retention, default 3 years) as audit evidence.
- `stock_bills` / `stock_bill_lines`: 出入库单 (SAS111 as declared, SAS211/212/213 receipts).
- `business_forms` / `business_form_lines`: 业务申报表 (SAS101 as declared, SAS201/202/203 receipts).
- `cent_dcl_stock_links`: SasCentDclStock, a 集报 核注清单 <-> the 出入库单 it summarises.
- `passport_entry_links`: Sas2stepPassportRlt, a two-step 核放单 (ICP101/SAS251) <-> each 报关单 `entryId`.
- `vehicles`: SasVehicleBsc of SAS231 (车辆备案/变更审核回执), by plate number.
- `writeoffs` / `writeoff_lines`: EmsChgoffBsc / EmsChgoffDt of EMS221 (账册核销审批回执), by ledger
  number and write-off count: what customs approved as should-remain, actually-remaining and
  differing quantities per item (shdRemainQty, actlRemainQty, dsmlQty, ...).

Heads carry `manage_result` + `result_rank` like `bond_invt_heads`: a later receipt of lower rank
never overwrites them (DOMAIN.md §1.7). Every receipt itself stays in `receipts`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from connector.store.messages_columns import WRITEOFF_COUNTS, WRITEOFF_LINE_QTYS
from connector.store.tables import metadata
from connector.store.types import AwareDateTime, DecimalText

raw_messages = Table(
    "raw_messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(100), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("file_name", String(400), nullable=False),
    Column("message_type", String(40), nullable=False),
    Column("business_id", String(100)),
    Column("size_bytes", Integer, nullable=False),
    Column("codec", String(10), nullable=False),  # zlib
    Column("content", LargeBinary, nullable=False),
    Column("received_at", AwareDateTime, nullable=False),
    Column("keep_until", AwareDateTime, nullable=False),
    UniqueConstraint("source", "sha256", name="uq_raw_messages_file"),
)
Index("ix_raw_messages_business", raw_messages.c.business_id)


def _ranked() -> tuple[Column, ...]:
    """The status columns every ranked head has (see `connector._declaration_rows.receipt_rank`)."""
    return (Column("manage_result", String(5)),
            Column("result_rank", Integer, nullable=False, server_default="0"),
            Column("receipt_id", Integer, ForeignKey("receipts.id"), nullable=False),
            Column("updated_at", AwareDateTime, nullable=False))


stock_bills = Table(
    "stock_bills", metadata,
    Column("sas_stock_no", String(64), primary_key=True),
    Column("sas_stock_preent_no", String(64)),
    Column("sas_dcl_no", String(64)),
    Column("master_cuscd", String(10)),
    Column("stock_typecd", String(1)),
    Column("dcl_typecd", String(2)),
    Column("business_typecd", String(2)),
    Column("centralized_dcl_typecd", String(2)),
    Column("rlt_bond_invt_no", String(64)),
    Column("rlt_sas_stock_no", String(64)),
    Column("dcl_time", AwareDateTime),
    Column("package_qty", DecimalText),
    Column("gross_wt", DecimalText),
    Column("net_wt", DecimalText),
    Column("pass_typecd", String(2)),
    Column("passport_used_typecd", String(2)),
    Column("stucd", String(2)),
    Column("emapv_markcd", String(2)),
    *_ranked(),
)
Index("ix_stock_bills_dcl", stock_bills.c.sas_dcl_no)

stock_bill_lines = Table(
    "stock_bill_lines", metadata,
    Column("sas_stock_no", String(64), primary_key=True),
    Column("sas_stock_seqno", Integer, primary_key=True),
    Column("sas_dcl_seqno", Integer),
    Column("oriact_gds_seqno", Integer),
    Column("gds_mtno", String(64)),
    Column("gdecd", String(10)),
    Column("gds_nm", Text),
    Column("dcl_unitcd", String(3)),
    Column("dcl_qty", DecimalText),
    Column("lawf_unitcd", String(3)),
    Column("lawf_qty", DecimalText),
    Column("gross_wt", DecimalText),
    Column("net_wt", DecimalText),
    Column("actl_pass_qty", DecimalText),
    Column("passport_used_qty", DecimalText),
    Column("rlt_stock_seqno", Integer),
    Column("receipt_id", Integer, ForeignKey("receipts.id"), nullable=False),
)

business_forms = Table(
    "business_forms", metadata,
    Column("sas_dcl_no", String(64), primary_key=True),
    Column("sas_dcl_preent_no", String(64)),
    Column("master_cuscd", String(10)),
    Column("dcl_typecd", String(2)),
    Column("business_typecd", String(2)),
    Column("direction_typecd", String(1)),
    Column("areain_oriact_no", String(20)),
    Column("areaout_oriact_no", String(20)),
    Column("valid_time", AwareDateTime),
    Column("dcl_time", AwareDateTime),
    Column("emapv_markcd", String(2)),
    Column("dcl_tb_stucd", String(2)),
    *_ranked(),
)

business_form_lines = Table(
    "business_form_lines", metadata,
    Column("sas_dcl_no", String(64), primary_key=True),
    Column("sas_dcl_seqno", Integer, primary_key=True),
    Column("mtpck_endprd_typecd", String(1)),
    Column("oriact_gds_seqno", Integer),
    Column("gdecd", String(10)),
    Column("gds_nm", Text),
    Column("dcl_unitcd", String(3)),
    Column("dcl_qty", DecimalText),
    Column("actl_areaout_qty", DecimalText),
    Column("actl_areain_qty", DecimalText),
    Column("invt_vdedt_qty", DecimalText),
    Column("rcnt_vdedt_time", AwareDateTime),
    Column("receipt_id", Integer, ForeignKey("receipts.id"), nullable=False),
)

cent_dcl_stock_links = Table(
    "cent_dcl_stock_links", metadata,
    Column("bond_invt_no", String(64), primary_key=True),
    Column("sas_stock_no", String(64), primary_key=True),
    Column("receipt_id", Integer, ForeignKey("receipts.id"), nullable=False),
)
Index("ix_cent_dcl_stock_links_stock", cent_dcl_stock_links.c.sas_stock_no)

passport_entry_links = Table(
    "passport_entry_links", metadata,
    Column("passport_no", String(64), primary_key=True),
    Column("entry_id", String(64), primary_key=True),  # 报关单号 (18 digits)
    Column("receipt_id", Integer, ForeignKey("receipts.id"), nullable=False),
)
Index("ix_passport_entry_links_entry", passport_entry_links.c.entry_id)

vehicles = Table(
    "vehicles", metadata,
    Column("vehicle_no", String(64), primary_key=True),
    Column("chg_tms_cnt", BigInteger),
    Column("vehicle_typecd", String(2)),
    Column("master_cuscd", String(10)),
    Column("dcl_preent_no", String(64)),
    Column("dcl_typecd", String(2)),
    Column("vehicle_cus_no", String(20)),
    Column("etpsno", String(20)),
    Column("etps_sccd", String(20)),
    Column("etps_nm", Text),
    Column("vehicle_wt", DecimalText),
    Column("dcl_time", AwareDateTime),
    Column("putrec_emapv_time", AwareDateTime),
    Column("chg_emapv_time", AwareDateTime),
    Column("emapv_markcd", String(2)),
    Column("stucd", String(2)),
    *_ranked(),
)

writeoffs = Table(
    "writeoffs", metadata,
    Column("ems_no", String(64), primary_key=True),
    Column("chgoff_tms_cnt", BigInteger, primary_key=True),
    Column("chgoff_typecd", String(25)),
    Column("master_cuscd", String(10)),
    Column("chgoff_begin_time", AwareDateTime),
    Column("chgoff_due_time", AwareDateTime),
    *(Column(name, BigInteger) for name in WRITEOFF_COUNTS),
    Column("imp_mtpck_total_amt", DecimalText),
    Column("exp_endprd_total_amt", DecimalText),
    Column("chgoff_dcl_time", AwareDateTime),
    Column("chgoff_markcd", String(4)),
    Column("emapv_markcd", String(4)),
    Column("emapv_time", AwareDateTime),
    Column("dsps_markcd", String(4)),
    *_ranked(),
)

writeoff_lines = Table(
    "writeoff_lines", metadata,
    Column("ems_no", String(64), primary_key=True),
    Column("chgoff_tms_cnt", BigInteger, primary_key=True),
    Column("typecd", String(1), primary_key=True),
    Column("seqno", BigInteger, primary_key=True),
    *(Column(name, DecimalText) for name in WRITEOFF_LINE_QTYS),
    Column("receipt_id", Integer, ForeignKey("receipts.id"), nullable=False),
)
