"""The state store's tables (SQLAlchemy Core). Migrations in `migrations/versions` create them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from connector.store.messages_columns import (MESSAGES_HEAD_CODES, MESSAGES_LINE_QTYS, MESSAGES_PASSPORT_CODES,
                                              MESSAGES_PASSPORT_WTS)
from connector.store.types import AwareDateTime, DecimalText

metadata = MetaData()

source_cursors = Table(
    "source_cursors", metadata,
    Column("source", String(100), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", AwareDateTime, nullable=False),
    Column("halted_reason", Text),
)

movements = Table(
    "movements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(100), nullable=False),
    Column("line_key", String(200), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("sku", String(200)),
    Column("qty", DecimalText, nullable=False),
    Column("uom", String(50)),
    Column("movement_type", String(100)),
    Column("doc_ref", String(200)),
    Column("lot", String(200)),
    Column("location", String(200)),
    Column("occurred_at", AwareDateTime, nullable=False),
    Column("changed_at", AwareDateTime, nullable=False),
    Column("extra", JSON),
    Column("staged_at", AwareDateTime, nullable=False),
    Column("ledger_state", String(20), nullable=False, server_default="pending"),
    Column("mapping_version", String(64)),
    UniqueConstraint("source", "line_key", "revision", name="uq_movements_revision"),
)
Index("ix_movements_ledger_state", movements.c.ledger_state)

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("movement_id", Integer, ForeignKey("movements.id"), nullable=False),
    Column("source", String(100), nullable=False),
    Column("line_key", String(200), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("mapping_version", String(64), nullable=False),
    Column("bws_no", String(20), nullable=False),
    Column("gds_seqno", Integer, nullable=False),
    Column("gds_mtno", String(64), nullable=False),
    Column("gdecd", String(10), nullable=False),
    Column("direction", String(1), nullable=False),
    Column("action", String(20), nullable=False),
    Column("dcl_qty", DecimalText, nullable=False),
    Column("dcl_unitcd", String(3), nullable=False),
    Column("lawf_qty", DecimalText, nullable=False),
    Column("lawf_unitcd", String(3), nullable=False),
    Column("doc_ref", String(200)),
    Column("needs_list", Boolean, nullable=False),
    Column("occurred_at", AwareDateTime, nullable=False),
    Column("reverses_id", Integer, ForeignKey("ledger_entries.id")),
    Column("created_at", AwareDateTime, nullable=False),
)
Index("ix_ledger_entries_item", *(ledger_entries.c[n] for n in (  # covering: rebuild balances and C9 sums (0006)
    "bws_no", "gds_seqno", "direction", "dcl_qty", "occurred_at", "gds_mtno", "dcl_unitcd")))
Index("ix_ledger_entries_line", ledger_entries.c.source, ledger_entries.c.line_key)

receipts = Table(
    "receipts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(100), nullable=False),
    Column("file_name", String(400), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("message_type", String(20), nullable=False),
    Column("message_id", String(100)),
    Column("business_id", String(100)),
    Column("manage_result", String(10)),
    Column("manage_date", AwareDateTime),
    Column("received_at", AwareDateTime, nullable=False),
    Column("result_rank", Integer), Column("doc_state", String(100)),  # messages: rank + state it reported
    UniqueConstraint("source", "sha256", name="uq_receipts_file"),
)

bond_invt_heads = Table(
    "bond_invt_heads", metadata,
    Column("bond_invt_no", String(64), primary_key=True),
    Column("etps_inner_invt_no", String(64)),
    Column("invt_preent_no", String(64)),
    Column("putrec_no", String(20)),
    Column("impexp_markcd", String(1)),
    Column("supv_modecd", String(10)),
    Column("bond_invt_typecd", String(5)),
    Column("vrfded_markcd", String(2)),
    Column("invt_stucd", String(2)),
    Column("entry_stucd", String(2)),
    Column("manage_result", String(5)),
    Column("result_rank", Integer, nullable=False, server_default="0"),
    Column("invt_dcl_time", AwareDateTime),
    Column("prevd_time", AwareDateTime),
    Column("formal_vrfded_time", AwareDateTime),
    *(Column(n, String(20)) for n in MESSAGES_HEAD_CODES),  # messages: list_stat, dcl_typecd, ... (below)
    Column("receipt_id", Integer, ForeignKey("receipts.id"), nullable=False),
    Column("updated_at", AwareDateTime, nullable=False),
)
Index("ix_bond_invt_heads_inner", bond_invt_heads.c.etps_inner_invt_no)

bond_invt_lines = Table(
    "bond_invt_lines", metadata,
    Column("bond_invt_no", String(64), primary_key=True),
    Column("gds_seqno", Integer, primary_key=True),
    Column("putrec_seqno", Integer),
    Column("gds_mtno", String(64)),
    Column("gdecd", String(10)),
    Column("gds_nm", Text),
    Column("dcl_unitcd", String(3)),
    Column("dcl_qty", DecimalText),
    Column("lawf_unitcd", String(3)),
    Column("lawf_qty", DecimalText),
    *(Column(n, DecimalText) for n in MESSAGES_LINE_QTYS), Column("modf_markcd", String(2)),  # messages
    Column("receipt_id", Integer, ForeignKey("receipts.id"), nullable=False),
)

ledger_lines = Table(
    "ledger_lines", metadata,
    Column("bws_no", String(20), primary_key=True),
    Column("gds_seqno", Integer, primary_key=True),
    Column("gds_mtno", String(64)),
    Column("gdecd", String(10)),
    Column("gds_nm", Text),
    Column("dcl_unitcd", String(3)),
    Column("lawf_unitcd", String(3)),
    Column("in_qty", DecimalText),
    Column("actl_inc_qty", DecimalText),
    Column("actl_redc_qty", DecimalText),
    Column("prevd_inc_qty", DecimalText),
    Column("prevd_redc_qty", DecimalText),
    Column("invt_no", String(64)),
    Column("invt_g_no", Integer),
    Column("modf_markcd", String(2)),
    Column("as_of", AwareDateTime),
    Column("qty_changed_at", AwareDateTime),  # when the quantities last changed (balance grace)
    Column("receipt_id", Integer, ForeignKey("receipts.id"), nullable=False),
    Column("updated_at", AwareDateTime, nullable=False),
)

passports = Table(
    "passports", metadata,
    Column("passport_no", String(64), primary_key=True),
    Column("passport_typecd", String(2)),
    Column("io_typecd", String(1)),
    Column("bind_typecd", String(2)),
    Column("rlt_tb_typecd", String(2)),
    Column("rlt_no", Text),
    Column("stucd", String(2)),
    Column("manage_result", String(5)),
    Column("result_rank", Integer, nullable=False, server_default="0"),
    Column("vehicle_no", String(50)),
    Column("total_wt", DecimalText),
    Column("total_gross_wt", DecimalText),
    Column("pass_collect_wt", DecimalText),
    Column("wt_error", DecimalText),
    Column("dcl_time", AwareDateTime),
    Column("pass_time", AwareDateTime),
    Column("secd_pass_time", AwareDateTime), *(Column(n, String(50)) for n in MESSAGES_PASSPORT_CODES),
    *(Column(n, DecimalText) for n in MESSAGES_PASSPORT_WTS),  # messages (names below)
    Column("receipt_id", Integer, ForeignKey("receipts.id"), nullable=False),
    Column("updated_at", AwareDateTime, nullable=False),
)

passport_lines = Table(
    "passport_lines", metadata,
    Column("passport_no", String(64), primary_key=True),
    Column("passport_seqno", Integer, primary_key=True),
    Column("rlt_gds_seqno", Integer),
    Column("gds_mtno", String(64)),
    Column("gdecd", String(10)),
    Column("dcl_unitcd", String(3)),
    Column("dcl_qty", DecimalText),
    Column("gross_wt", DecimalText),
    Column("net_wt", DecimalText),
)

passport_links = Table(
    "passport_links", metadata,
    Column("passport_no", String(64), primary_key=True),
    Column("rlt_tb_typecd", String(2), primary_key=True),
    Column("rlt_no", String(64), primary_key=True),
)

discrepancies = Table(
    "discrepancies", metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("ledger_no", String(20)),
    Column("item_seq", Integer),
    Column("item_no", String(64)),
    Column("doc_refs", JSON, nullable=False),
    Column("expected_qty", DecimalText),
    Column("actual_qty", DecimalText),
    Column("delta_qty", DecimalText),
    Column("unit", String(10)),
    Column("details", JSON, nullable=False),
    Column("first_seen", AwareDateTime, nullable=False),
    Column("last_seen", AwareDateTime, nullable=False),
    Column("resolved_at", AwareDateTime),
    Column("unit_key", String(300)),  # compare: the evaluation unit that produced it (incremental ticks)
    Column("evidence", JSON),  # compare: movement revisions, declaration lines, receipts behind it
    Column("ack_reason", Text),  # compare: `discrepancies ack ID --reason`
    Column("acked_at", AwareDateTime),
)
Index("ix_discrepancies_status", discrepancies.c.status)

outbox = Table(
    "outbox", metadata,
    Column("id", String(64), primary_key=True),
    Column("sink", String(100), nullable=False),
    Column("event", String(50), nullable=False),
    Column("discrepancy_id", String(64)),
    Column("idempotency_key", String(100), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(20), nullable=False),  # pending | sent | dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", AwareDateTime, nullable=False),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", AwareDateTime, nullable=False),
    Column("sent_at", AwareDateTime),
    Column("seq", Integer),  # delivery: order within its discrepancy (the discrepancy version)
)
Index("ix_outbox_due", outbox.c.status, outbox.c.next_attempt_at)

quarantine = Table(
    "quarantine", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("stage", String(20), nullable=False),  # source | mapping | declaration
    Column("source", String(100), nullable=False),
    Column("ref", String(400), nullable=False),  # line key or file name
    Column("reason", String(100), nullable=False),
    Column("detail", Text),
    Column("payload", JSON),
    Column("created_at", AwareDateTime, nullable=False),
    Column("resolved_at", AwareDateTime),
)
Index("ix_quarantine_open", quarantine.c.stage, quarantine.c.source, quarantine.c.ref)

run_log = Table(
    "run_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(50), nullable=False),
    Column("started_at", AwareDateTime, nullable=False),
    Column("finished_at", AwareDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("counts", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

import connector.store.tables_compare  # noqa: E402,F401  (the comparator's tables)
import connector.store.tables_messages  # noqa: E402,F401  (raw messages, 出入库单, 业务申报表)
import connector.store.tables_delivery  # noqa: E402,F401  (sink circuit state, alert log)
import connector.store.tables_compare_periods  # noqa: E402,F401  (C4/C5 dispatches, C9 write-off periods)
