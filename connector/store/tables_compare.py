"""The comparator's own tables: watermarks, held-back (in-flight) findings, running WMS balances.

They make a tick incremental: the watermarks say what is new since the last tick, the pending rows
say which evaluation units must be looked at again when a grace window or deadline expires, and
`compare_balances` keeps the WMS stock per ledger line so a tick never re-sums the whole history.
Everything here is derived: `connector compare --rebuild` recomputes it from the stored revisions.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, String, Table

from connector.store.tables import (
    bond_invt_heads,
    bond_invt_lines,
    discrepancies,
    ledger_entries,
    ledger_lines,
    metadata,
    passport_links,
    passports,
)
from connector.store.tables_messages import cent_dcl_stock_links, stock_bills
from connector.store.types import AwareDateTime, DecimalText

compare_state = Table(
    "compare_state", metadata,
    Column("name", String(50), primary_key=True),  # watermark name: entry_id, receipt_id, ...
    Column("value", JSON, nullable=False),
    Column("updated_at", AwareDateTime, nullable=False),
)

compare_pending = Table(
    "compare_pending", metadata,
    Column("id", String(64), primary_key=True),  # the discrepancy id held back
    Column("kind", String(50), nullable=False),
    Column("unit_key", String(300), nullable=False),  # the evaluation unit to look at again
    Column("due_at", AwareDateTime, nullable=False),  # when its grace window or deadline expires
)
Index("ix_compare_pending_due", compare_pending.c.due_at)
Index("ix_compare_pending_unit", compare_pending.c.unit_key)

compare_balances = Table(
    "compare_balances", metadata,
    Column("bws_no", String(20), primary_key=True),
    Column("gds_seqno", String(20), primary_key=True),  # text: keeps the key type of the unit key
    Column("gds_mtno", String(64), nullable=False),
    Column("unit", String(10), nullable=False),
    Column("qty", DecimalText, nullable=False),  # Σ ledger_entries.dcl_qty, declared unit
    Column("last_occurred_at", AwareDateTime, nullable=False),
)

compare_list_docs = Table(
    "compare_list_docs", metadata,  # the document each 核注清单 was last seen under: a list whose
    Column("bond_invt_no", String(64), primary_key=True),  # 企业内部编号 changes dirties the old one too
    Column("doc_ref", String(64)),
)

compare_passport_links = Table(
    "compare_passport_links", metadata,  # the lists each passport named when last evaluated: a passport
    Column("passport_no", String(64), primary_key=True),  # that stops naming a list dirties that list too
    Column("bond_invt_no", String(64), primary_key=True),
)

# Indexes the incremental loads need (dirty keys are looked up, never scanned for).
Index("ix_ledger_entries_doc", ledger_entries.c.doc_ref, ledger_entries.c.gds_mtno,  # covering the screen's
      ledger_entries.c.needs_list, ledger_entries.c.dcl_unitcd, ledger_entries.c.dcl_qty)  # WMS signatures (0008)
Index("ix_ledger_entries_mtno", ledger_entries.c.gds_mtno, ledger_entries.c.doc_ref)
Index("ix_bond_invt_heads_receipt", bond_invt_heads.c.receipt_id)
Index("ix_bond_invt_lines_receipt", bond_invt_lines.c.receipt_id)
Index("ix_bond_invt_lines_mtno", bond_invt_lines.c.gds_mtno)
Index("ix_ledger_lines_receipt", ledger_lines.c.receipt_id)
Index("ix_passports_receipt", passports.c.receipt_id)
Index("ix_passport_links_rlt", passport_links.c.rlt_no)
Index("ix_discrepancies_unit", discrepancies.c.unit_key)
Index("ix_stock_bills_receipt", stock_bills.c.receipt_id)
Index("ix_cent_dcl_stock_links_receipt", cent_dcl_stock_links.c.receipt_id)
