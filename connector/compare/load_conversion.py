"""Loads of C7 conversions (rules/conversion.py) and the `conv|` units a tick must look at again.

A conversion entry has the action `conversion_out` / `conversion_in` (the mapping's `conversion`
key); its reversal (action `reversal`) names it by `reverses_id` and keeps its document, source and
line, so a revised or deleted conversion line nets out. Unit keys: `conv|<document>`, and
`convm|<料号>` for the conversions of that 料号 without a document reference (each WMS line of them is
its own finding, keyed `~<source>:<line_key>`; a unit key by line could outgrow `unit_key`'s 300
characters). A rebuild reads every conversion (one pass over the entries, filtered by action; on a
SQLite file in the rebuild's queue of child queries, `prefetch`, while the rules run); a
unit reads its document's entries (`ix_ledger_entries_doc`) or its 料号's (`ix_ledger_entries_mtno`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, select

from connector.compare import screen
from connector.compare.load import VOID_LIST_STATES, chunks, raw, rows
from connector.compare.rules.conversion import BOOKED_MARKS, BookedLine, Conversion
from connector.store.tables import bond_invt_heads as H
from connector.store.tables import bond_invt_lines as BL
from connector.store.tables import ledger_entries as E

ACTIONS = {"conversion_out": "to_non_bonded", "conversion_in": "to_bonded"}
ZERO = Decimal(0)
T = datetime.fromisoformat
_COLUMNS = (E.c.id, E.c.reverses_id, E.c.action, E.c.doc_ref, E.c.source, E.c.line_key, E.c.revision, E.c.bws_no,
            E.c.gds_seqno, E.c.gds_mtno, E.c.dcl_unitcd, E.c.direction, raw(E.c.dcl_qty), raw(E.c.occurred_at))
_EVERY = select(*_COLUMNS).where(E.c.action.in_((*ACTIONS, "reversal")))
PREFETCHED = "compare_conversions_prefetched"  # screen.keep key: a rebuild's pending rows


def unit_key(doc_ref: str | None, gds_mtno: str) -> str:
    return f"conv|{doc_ref}" if doc_ref else f"convm|{gds_mtno}"


def conversions(conn: Connection, docs: set[str] | None, mtnos: set[str] | None,
                as_of: datetime | None = None) -> list[Conversion]:
    """The conversions of these documents and of these 料号 without a document (both None = every
    one), summed per (document or WMS line, 料号, conversion)."""
    query = _EVERY
    if as_of is not None:
        query = query.where(E.c.created_at <= as_of, E.c.occurred_at <= as_of)
    if docs is None and mtnos is None:
        found = _prefetched(conn) if as_of is None else None
        return _group(rows(conn, query) if found is None else found)
    found = [r for part in chunks(docs or ()) for r in rows(conn, query.where(E.c.doc_ref.in_(part)))]
    found += [r for part in chunks(mtnos or ()) for r in rows(conn, query.where(
        E.c.gds_mtno.in_(part), E.c.doc_ref.is_(None)))]
    return _group(found)


def prefetch(conn: Connection) -> None:
    """A rebuild on SQLite: every conversion entry read by the child-query queue (screen.run_all)
    while the rules run, so the rules' thread does not scan the entries for them."""
    if conn.dialect.name == "sqlite":
        sql = str(_EVERY.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        found = screen.run_all(conn, {"conversions": (sql, ())})["conversions"]
        screen.keep(conn, PREFETCHED, found)


def _prefetched(conn: Connection) -> list[tuple] | None:
    """The rows `prefetch` started in this transaction (once), or None."""
    found = screen.kept(conn, PREFETCHED, pop=True)
    return None if found is None else found()


def _group(found) -> list[Conversion]:
    """Conversion entries and the reversals of them (by `reverses_id`), grouped."""
    found = list(found)
    ids = {r[0] for r in found if r[2] in ACTIONS}
    groups: dict[tuple, list] = {}
    for r in sorted(found, key=lambda x: x[0]):
        if r[0] not in ids and r[1] not in ids:
            continue
        key = (r[3] or f"~{r[4]}:{r[5]}", r[9], "to_non_bonded" if r[11] == "E" else "to_bonded")
        g = groups.setdefault(key, [r, ZERO, "", set(), set()])
        g[1] += Decimal(r[12])
        g[2] = max(g[2], r[13])
        g[3].add(f"{r[4]}:{r[5]}")
        g[4].add(f"movement:{r[4]}:{r[5]}#{r[6]}")
    return [Conversion(key, r[3], conversion, r[7], r[8], mtno, r[10], qty, T(last), tuple(sorted(lines)),
                       tuple(sorted(evidence)))
            for (key, mtno, conversion), (r, qty, last, lines, evidence) in sorted(groups.items())]


def booked_lines(conn: Connection, docs: set[str], as_of: datetime | None = None
                 ) -> dict[tuple[str, str], list[BookedLine]]:
    """The 核注清单 lines of these documents: (document, 料号) -> lines, void ones flagged; evidence: the
    line, the receipt that brought it and the one that set its head's booking state."""
    query = (select(H.c.etps_inner_invt_no, BL.c.gds_mtno, BL.c.bond_invt_no, BL.c.gds_seqno, H.c.impexp_markcd,
                    raw(BL.c.dcl_qty), H.c.vrfded_markcd, H.c.invt_stucd, BL.c.receipt_id, H.c.receipt_id)
             .join(H, BL.c.bond_invt_no == H.c.bond_invt_no))
    if as_of is not None:
        query = query.where(H.c.updated_at <= as_of)
    out: dict[tuple[str, str], list[BookedLine]] = {}
    found = (r for part in chunks(docs) for r in rows(conn, query.where(H.c.etps_inner_invt_no.in_(part))))
    for doc, mtno, no, seq, io, qty, mark, stucd, receipt, head_receipt in found:  # the head's: its booking state
        out.setdefault((doc, mtno or ""), []).append(BookedLine(
            no, seq, io or "I", Decimal(qty) if qty else ZERO, mark in BOOKED_MARKS, stucd in VOID_LIST_STATES,
            (f"list:{no}/{seq}", *dict.fromkeys((f"receipt:{receipt}", f"receipt:{head_receipt}")))))
    return out


def dirty_keys(conn: Connection, docs: set[str], after: int) -> set[str]:
    """`conv|` / `convm|` keys of a tick: new conversion entries and their reversals, and the documents with
    changed 核注清单 (`docs`: those a tick already found, a list's old document too) that have conversions."""
    new = list(rows(conn, select(*_COLUMNS).where(E.c.id > after, E.c.action.in_((*ACTIONS, "reversal")))))
    reversed_ids = {r[1] for r in new if r[2] == "reversal"}
    converted = {i for part in chunks(reversed_ids) for (i,) in conn.execute(
        select(E.c.id).where(E.c.id.in_(part), E.c.action.in_(tuple(ACTIONS))))}
    keys = {unit_key(r[3], r[9]) for r in new if r[2] in ACTIONS or r[1] in converted}
    query = select(E.c.doc_ref).where(E.c.action.in_(tuple(ACTIONS))).distinct()
    return keys | {f"conv|{d}" for part in chunks(docs) for (d,) in conn.execute(query.where(E.c.doc_ref.in_(part)))}
