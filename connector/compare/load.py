"""Read the comparator's inputs from the store as plain rule data (the only I/O of the comparator)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from connector.compare.rules import LedgerState, ListItem, WmsBalance, WmsDocItem
from connector.store.tables import bond_invt_heads, bond_invt_lines, ledger_entries, ledger_lines

VOID_LIST_STATES = ("2", "3")  # invtStucd 退单 rejected, 删单 deleted
ZERO = Decimal(0)


def wms_doc_items(conn: Connection) -> list[WmsDocItem]:
    """Movements that need a 核注清单, summed per (document, item); undocumented ones per line."""
    rows = conn.execute(select(ledger_entries).where(ledger_entries.c.needs_list.is_(True)))
    groups: dict[tuple, list[Any]] = defaultdict(list)
    for row in rows:
        key = (row.doc_ref, row.gds_mtno) if row.doc_ref else (None, row.source, row.line_key)
        groups[key].append(row)
    return [_doc_item(entries) for entries in groups.values()]


def _doc_item(entries: list[Any]) -> WmsDocItem:
    first = entries[0]
    return WmsDocItem(
        doc_ref=first.doc_ref, bws_no=first.bws_no, gds_seqno=first.gds_seqno, gds_mtno=first.gds_mtno,
        unit=first.dcl_unitcd, qty=sum((e.dcl_qty for e in entries), ZERO),
        last_occurred_at=max(e.occurred_at for e in entries),
        line_keys=tuple(sorted({f"{e.source}:{e.line_key}" for e in entries})))


def list_items(conn: Connection) -> list[ListItem]:
    h, ln = bond_invt_heads.c, bond_invt_lines.c
    query = (select(bond_invt_lines, h.etps_inner_invt_no, h.impexp_markcd, h.putrec_no, h.invt_dcl_time,
                    h.updated_at)
             .join(bond_invt_heads, ln.bond_invt_no == h.bond_invt_no)
             .where(h.etps_inner_invt_no.is_not(None), h.invt_stucd.not_in(VOID_LIST_STATES) | h.invt_stucd.is_(None)))
    return [ListItem(
        bond_invt_no=r.bond_invt_no, etps_inner_invt_no=r.etps_inner_invt_no, impexp_markcd=r.impexp_markcd or "I",
        putrec_no=r.putrec_no, putrec_seqno=r.putrec_seqno, gds_mtno=r.gds_mtno or "", unit=r.dcl_unitcd,
        dcl_qty=r.dcl_qty or ZERO, declared_at=r.invt_dcl_time or r.updated_at) for r in conn.execute(query)]


def ledger_states(conn: Connection) -> dict[tuple[str, int], LedgerState]:
    return {(r.bws_no, r.gds_seqno): LedgerState(
        bws_no=r.bws_no, gds_seqno=r.gds_seqno, gds_mtno=r.gds_mtno, unit=r.dcl_unitcd,
        in_qty=r.in_qty or ZERO, actl_inc_qty=r.actl_inc_qty or ZERO, actl_redc_qty=r.actl_redc_qty or ZERO,
        prevd_inc_qty=r.prevd_inc_qty or ZERO, prevd_redc_qty=r.prevd_redc_qty or ZERO,
        as_of=r.as_of or r.updated_at, qty_changed_at=r.qty_changed_at) for r in conn.execute(select(ledger_lines))}


def wms_balances(conn: Connection) -> dict[tuple[str, int], WmsBalance]:
    """WMS stock per ledger line: every posted entry (and reversal) summed in declared units."""
    totals: dict[tuple[str, int], WmsBalance] = {}
    for r in conn.execute(select(ledger_entries)):
        key = (r.bws_no, r.gds_seqno)
        prev = totals.get(key)
        qty = r.dcl_qty + (prev.qty if prev else ZERO)
        last = max(r.occurred_at, prev.last_occurred_at) if prev else r.occurred_at
        totals[key] = WmsBalance(r.bws_no, r.gds_seqno, r.gds_mtno, r.dcl_unitcd, qty, last)
    return totals
