"""Read the comparator's inputs from the store as plain rule data (the only I/O of the rules).

Every loader takes the keys of the evaluation units it serves (None = everything, set-based, for a
full rebuild) and an optional `as_of` instant (only rows the connector knew by then). Quantities and
times are read as their stored text and converted once per row: the text forms are canonical
(DecimalText, fixed-width UTC ISO), so the latest time of a group is the largest text.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, String, and_, exists, or_, select, type_coerce

from connector.compare.rules.inputs import (
    LedgerState,
    ListItem,
    WmsBalance,
    WmsDocItem,
    WmsLine,
)
from connector.store.tables import bond_invt_heads as H
from connector.store.tables import bond_invt_lines as BL
from connector.store.tables import ledger_entries as E
from connector.store.tables import ledger_lines as LL
from connector.store.tables_compare import compare_balances as CB

VOID_LIST_STATES = ("2", "3")  # invtStucd 退单 rejected, 删单 deleted
ZERO = Decimal(0)
CHUNK = 500
T = datetime.fromisoformat


def raw(column):
    """The stored text of a DecimalText / AwareDateTime column, without per-row type processing."""
    return type_coerce(column, String)


def rows(conn: Connection, query) -> Iterator[tuple]:
    """A query's plain DBAPI rows, streamed: no per-row result processing (columns read as `raw`)."""
    return conn.execute(query).cursor


def chunks(keys: Iterable) -> Iterator[list]:
    keys = sorted(keys)
    for i in range(0, len(keys), CHUNK):
        yield keys[i:i + CHUNK]


def wanted_queries(items: dict[str, set[str] | None]) -> dict[str, tuple[str, tuple]]:
    """SQLite queries (run_all jobs: "entries", "lists") of the movements and 核注清单 lines of the
    (document, 料号) a rebuild reads (料号 None: all of them); the pairs travel as one JSON text."""
    pairs = [[doc, m] for doc, ms in items.items() for m in (sorted(ms) if ms is not None else [None])]
    text = json.dumps(pairs, ensure_ascii=False)
    return {"entries": (ENTRIES_WANTED, (text,)), "lists": (LISTS_WANTED, (text,))}


_WANT = ("WITH w(doc, mtno) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)) ")
_WANT_ITEM = "(w.mtno IS NULL OR {} = w.mtno)"
_ENTRY_COLUMNS = ("SELECT e.doc_ref, e.gds_mtno, e.bws_no, e.gds_seqno, e.dcl_unitcd, e.dcl_qty, e.occurred_at, "
                  "e.source, e.line_key, e.revision, e.gdecd FROM w CROSS JOIN ledger_entries e ")
ENTRIES_WANTED = (  # CROSS JOIN: SQLite keeps this order (the wanted pairs, then the (doc_ref, 料号) index)
    _WANT + _ENTRY_COLUMNS + "ON e.doc_ref = w.doc AND e.gds_mtno = w.mtno WHERE e.needs_list = 1 UNION ALL "
    + _ENTRY_COLUMNS + "ON e.doc_ref = w.doc WHERE w.mtno IS NULL AND e.needs_list = 1")
LISTS_WANTED = (
    _WANT + "SELECT l.bond_invt_no, l.gds_seqno, l.putrec_seqno, l.gds_mtno, l.dcl_unitcd, l.dcl_qty, "
    "h.etps_inner_invt_no, h.impexp_markcd, h.putrec_no, h.invt_stucd, h.invt_dcl_time, h.updated_at, l.receipt_id "
    "FROM w CROSS JOIN bond_invt_heads h ON h.etps_inner_invt_no = w.doc CROSS JOIN bond_invt_lines l "
    "ON l.bond_invt_no = h.bond_invt_no AND " + _WANT_ITEM.format("coalesce(l.gds_mtno, '')"))


def _entries(conn: Connection, column, keys, extra, as_of: datetime | None, items: dict | None = None):
    """`items`: document -> the 料号 wanted (None = all), filtered here before any conversion."""
    cols = (E.c.doc_ref, E.c.gds_mtno, E.c.bws_no, E.c.gds_seqno, E.c.dcl_unitcd, raw(E.c.dcl_qty),
            raw(E.c.occurred_at), E.c.source, E.c.line_key, E.c.revision, E.c.gdecd)
    base = select(*cols).where(E.c.needs_list.is_(True), extra)
    if as_of is not None:
        base = base.where(E.c.created_at <= as_of, E.c.occurred_at <= as_of)
    if keys is None:
        yield from rows(conn, base)
        return
    for part in chunks(keys):
        found = rows(conn, base.where(column.in_(part)))
        yield from found if items is None else (r for r in found if wanted(items, r[0], r[1]))


def wanted(items: dict | None, doc: str, mtno: str) -> bool:
    return items is None or items[doc] is None or mtno in items[doc]


def doc_items(conn: Connection, docs: set[str] | None, as_of: datetime | None = None,
              items: dict | None = None, found: list[tuple] | None = None) -> list[WmsDocItem]:
    """Movements that need a 核注清单 and name a document, summed per (document, 料号)
    (`items`: per document the 料号 to read, None = all; `found`: their rows, already read by
    `wanted_queries`)."""
    groups: dict[tuple, list] = defaultdict(lambda: [None, ZERO, "", set(), []])
    for r in found if found is not None else _entries(conn, E.c.doc_ref, docs, E.c.doc_ref.is_not(None), as_of, items):
        g = groups[(r[0], r[1])]
        g[0] = g[0] or r
        g[1] += Decimal(r[5])
        g[2] = max(g[2], r[6])
        g[3].add(f"{r[7]}:{r[8]}")
        g[4].append(f"movement:{r[7]}:{r[8]}#{r[9]}")
    return [WmsDocItem(r[0], r[2], r[3], r[1], r[4], qty, T(last), tuple(sorted(keys)), tuple(sorted(set(ev))), r[10])
            for (r, qty, last, keys, ev) in groups.values()]


def noref_lines(conn: Connection, items: set[str] | None, as_of: datetime | None = None) -> list[WmsLine]:
    """Movements that need a 核注清单 but name no document, per WMS line (revisions summed)."""
    groups: dict[str, list] = {}
    for r in _entries(conn, E.c.gds_mtno, items, E.c.doc_ref.is_(None), as_of):
        key = f"{r[7]}:{r[8]}"
        g = groups.setdefault(key, [r, ZERO, "", []])
        g[1] += Decimal(r[5])
        g[2] = max(g[2], r[6])
        g[3].append(f"movement:{key}#{r[9]}")
    return [WmsLine(key, r[1], r[2], r[3], r[4], qty, T(last), tuple(sorted(set(ev))))
            for key, (r, qty, last, ev) in groups.items()]


def _list_query(as_of: datetime | None):
    query = (select(BL.c.bond_invt_no, BL.c.gds_seqno, BL.c.putrec_seqno, BL.c.gds_mtno, BL.c.dcl_unitcd,
                    raw(BL.c.dcl_qty), H.c.etps_inner_invt_no, H.c.impexp_markcd, H.c.putrec_no, H.c.invt_stucd,
                    raw(H.c.invt_dcl_time), raw(H.c.updated_at), BL.c.receipt_id)
             .join(H, BL.c.bond_invt_no == H.c.bond_invt_no).where(H.c.etps_inner_invt_no.is_not(None)))
    return query if as_of is None else query.where(H.c.updated_at <= as_of)


def _list_item(r) -> ListItem:
    return ListItem(r[0], r[6], r[7] or "I", r[8], r[2], r[3] or "", r[4], Decimal(r[5]) if r[5] else ZERO,
                    T(r[10] or r[11]), (f"list:{r[0]}/{r[1]}", f"receipt:{r[12]}"),
                    void=r[9] in VOID_LIST_STATES)


def list_items(conn: Connection, docs: set[str] | None, as_of: datetime | None = None,
               items: dict | None = None, found: list[tuple] | None = None) -> list[ListItem]:
    """核注清单 lines per document, void (rejected / deleted) ones flagged, not dropped (`found`:
    their rows, already read by `wanted_queries`)."""
    if found is not None:
        return [_list_item(r) for r in found]
    query = _list_query(as_of)
    found = rows(conn, query) if docs is None else (
        r for part in chunks(docs) for r in rows(conn, query.where(H.c.etps_inner_invt_no.in_(part))))
    return [_list_item(r) for r in found if wanted(items, r[6], r[3] or "")]


def orphan_lists(conn: Connection, items: set[str], as_of: datetime | None = None) -> list[ListItem]:
    """Live 核注清单 lines of these 料号 whose document no movement names (candidates for C2 by window)."""
    moved = exists().where(E.c.doc_ref == H.c.etps_inner_invt_no, E.c.needs_list.is_(True))
    if as_of is not None:
        moved = moved.where(E.c.created_at <= as_of)
    query = _list_query(as_of).where(~moved, or_(H.c.invt_stucd.is_(None), H.c.invt_stucd.not_in(VOID_LIST_STATES)))
    return [_list_item(r) for part in chunks(items) for r in rows(conn, query.where(BL.c.gds_mtno.in_(part)))]


def ledger_states(conn: Connection, keys: set[tuple[str, int]] | None,
                  as_of: datetime | None = None) -> dict[tuple[str, int], LedgerState]:
    query = select(LL)
    if as_of is not None:
        query = query.where(LL.c.updated_at <= as_of)
    rows = conn.execute(query) if keys is None else (
        r for part in chunks(keys) for r in conn.execute(query.where(
            or_(*(and_(LL.c.bws_no == b, LL.c.gds_seqno == s) for b, s in part)))))
    return {(r.bws_no, r.gds_seqno): LedgerState(
        r.bws_no, r.gds_seqno, r.gds_mtno, r.dcl_unitcd, r.in_qty or ZERO, r.actl_inc_qty or ZERO,
        r.actl_redc_qty or ZERO, r.prevd_inc_qty or ZERO, r.prevd_redc_qty or ZERO, r.as_of or r.updated_at,
        r.qty_changed_at, (f"ledger_line:{r.bws_no}/{r.gds_seqno}", f"receipt:{r.receipt_id}")) for r in rows}


def canonical(qty: Decimal) -> Decimal:
    """The value a DecimalText column gives back (4.0 -> 4, and 10 stays 10: `normalize` alone gives
    1E+1): balances read back from the store and balances summed here must print the same in a
    discrepancy's details."""
    return Decimal(format(qty.normalize(), "f")) if qty != 0 else ZERO


def balances_from_entries(conn: Connection, as_of: datetime | None = None, upto: int | None = None,
                          keys: set[tuple[str, int]] | None = None) -> dict[tuple[str, int], WmsBalance]:
    """WMS stock per ledger line: every posted entry (and reversal) summed in declared units
    (entries up to id `upto`; only the ledger lines `keys`); 料号 and unit: the smallest seen."""
    query = select(E.c.bws_no, E.c.gds_seqno, E.c.gds_mtno, E.c.dcl_unitcd, raw(E.c.dcl_qty), raw(E.c.occurred_at))
    if as_of is not None:
        query = query.where(E.c.created_at <= as_of, E.c.occurred_at <= as_of)
    if upto is not None:
        query = query.where(E.c.id <= upto)
    found = rows(conn, query) if keys is None else (
        r for part in chunks(keys) for r in rows(conn, query.where(
            or_(*(and_(E.c.bws_no == b, E.c.gds_seqno == s) for b, s in part)))))
    totals: dict[tuple[str, int], list] = {}
    for b, s, m, u, q, at in found:
        t = totals.setdefault((b, s), [m, u, ZERO, at])
        t[0], t[1], t[2], t[3] = min(t[0], m), min(t[1], u), t[2] + Decimal(q), max(t[3], at)
    return {k: WmsBalance(k[0], k[1], m, u, canonical(q), T(at)) for k, (m, u, q, at) in totals.items()}


def stored_balances(conn: Connection, keys: set[tuple[str, int]] | None) -> dict[tuple[str, int], WmsBalance]:
    """The running balances the engine keeps in `compare_balances` (gds_seqno stored as text)."""
    query = select(CB)
    rows = conn.execute(query) if keys is None else (
        r for part in chunks(keys) for r in conn.execute(query.where(
            or_(*(and_(CB.c.bws_no == b, CB.c.gds_seqno == str(s)) for b, s in part)))))
    return {(r.bws_no, int(r.gds_seqno)): WmsBalance(r.bws_no, int(r.gds_seqno), r.gds_mtno, r.unit, r.qty,
                                                     r.last_occurred_at) for r in rows}
