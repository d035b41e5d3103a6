"""What changed since the last tick: watermarks, the running WMS balances, and the dirty units.

New ledger entries (id above the watermark) dirty their document, their unreferenced 料号 and their
ledger line, and are added to `compare_balances`; new receipts (id above the watermark) dirty the
documents, lists and ledger lines they brought; new conversion entries and the documents found
here dirty their C7 `conv|` units (load_conversion.py); units whose grace window or deadline has
expired come from `compare_pending`. Every lookup goes through an index: the cost follows the change.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, func, select

from connector.compare import list_items, load, load_conversion, load_gate
from connector.compare.load import raw
from connector.compare.units import Units
from connector.store.tables import bond_invt_heads as H
from connector.store.tables import bond_invt_lines as BL
from connector.store.tables import ledger_entries as E
from connector.store.tables import ledger_lines as LL
from connector.store.tables import passport_links as LK
from connector.store.tables import passports as PP
from connector.store.tables import receipts
from connector.store.tables_compare import compare_balances as CB
from connector.store.tables_compare import compare_list_docs as LD
from connector.store.tables_compare import compare_passport_links as PLK
from connector.store.tables_compare import compare_pending as P
from connector.store.tables_compare import compare_state as S
from connector.store.tables_messages import cent_dcl_stock_links as CL
from connector.store.tables_messages import stock_bills as SB


def watermarks(conn: Connection) -> dict[str, int] | None:
    rows = {r.name: r.value for r in conn.execute(select(S))}
    return rows or None


def current_marks(conn: Connection) -> dict[str, int]:
    return {"entry_id": conn.execute(select(func.max(E.c.id))).scalar() or 0,
            "receipt_id": conn.execute(select(func.max(receipts.c.id))).scalar() or 0}


def save_marks(conn: Connection, marks: dict[str, int], now: datetime) -> None:
    conn.execute(S.delete())
    conn.execute(S.insert(), [{"name": k, "value": v, "updated_at": now} for k, v in marks.items()])


def dirty_units(conn: Connection, marks: dict[str, int], now: datetime) -> Units:
    units = Units()
    _from_entries(conn, units, marks["entry_id"])
    _from_receipts(conn, units, marks["receipt_id"])
    for (key,) in conn.execute(select(P.c.unit_key).where(P.c.due_at <= now)):
        units.add_key(key)
    _propagate(conn, units)
    list_items.remember(conn, units.docs)
    _declarations(conn, units, marks["receipt_id"])
    units.more |= load_conversion.dirty_keys(conn, units.docs, marks["entry_id"])  # C7 conversions (conv|)
    return units


def _from_entries(conn: Connection, units: Units, after: int) -> None:
    query = select(E.c.doc_ref, E.c.gds_mtno, E.c.bws_no, E.c.gds_seqno, E.c.needs_list, E.c.dcl_unitcd,
                   raw(E.c.dcl_qty), raw(E.c.occurred_at)).where(E.c.id > after)
    added: dict[tuple[str, int], list] = {}
    for doc, mtno, bws, seq, needs, unit, qty, at in conn.execute(query):
        if needs and doc:
            units.docs.add(doc)
        elif needs:
            units.norefs.add(mtno)
        units.lines.add((bws, seq))
        a = added.setdefault((bws, seq), [mtno, unit, Decimal(0), at])
        a[0], a[1], a[2], a[3] = min(a[0], mtno), min(a[1], unit), a[2] + Decimal(qty), max(a[3], at)
    add_balances(conn, added)


def add_balances(conn: Connection, added: dict[tuple[str, int], list]) -> None:
    """Add new entries' quantities to the running balances (one row per ledger line)."""
    stored = load.stored_balances(conn, set(added)) if added else {}
    for (bws, seq), (mtno, unit, qty, at) in added.items():
        prev = stored.get((bws, seq))
        if prev is None:
            conn.execute(CB.insert().values(bws_no=bws, gds_seqno=str(seq), gds_mtno=mtno, unit=unit, qty=qty,
                                            last_occurred_at=datetime.fromisoformat(at)))
            continue
        last = max(prev.last_occurred_at, datetime.fromisoformat(at))
        conn.execute(CB.update().where(CB.c.bws_no == bws, CB.c.gds_seqno == str(seq)).values(
            qty=prev.qty + qty, last_occurred_at=last, gds_mtno=min(prev.gds_mtno, mtno), unit=min(prev.unit, unit)))


def _from_receipts(conn: Connection, units: Units, after: int) -> None:
    heads = select(H.c.bond_invt_no, H.c.etps_inner_invt_no).where(H.c.receipt_id > after)
    lines = (select(H.c.bond_invt_no, H.c.etps_inner_invt_no).join(BL, BL.c.bond_invt_no == H.c.bond_invt_no)
             .where(BL.c.receipt_id > after))
    seen = {no: doc for query in (heads, lines) for no, doc in conn.execute(query)}
    remember_lists(conn, seen, units)
    units.norefs |= _with_unreferenced(conn, list_items.forget(conn, set(seen)))
    units.lists |= set(seen)
    units.lines |= {(b, s) for b, s in conn.execute(select(LL.c.bws_no, LL.c.gds_seqno).where(LL.c.receipt_id > after))}


def remember_lists(conn: Connection, seen: dict[str, str | None], units: Units | None) -> None:
    """Record the document of each list; a list that moved to another document dirties both."""
    old = {no: doc for part in load.chunks(seen)
           for no, doc in conn.execute(select(LD).where(LD.c.bond_invt_no.in_(part)))}
    for no, doc in seen.items():
        if units is not None:
            units.docs |= {d for d in (doc, old.get(no)) if d}
        if no not in old:
            conn.execute(LD.insert().values(bond_invt_no=no, doc_ref=doc))
        elif old[no] != doc:
            conn.execute(LD.update().where(LD.c.bond_invt_no == no).values(doc_ref=doc))


def _propagate(conn: Connection, units: Units) -> None:
    """C2 couples a document with unreferenced movements of its items: orphan status and the
    window match change together, so each side's change dirties the other."""
    if units.docs:
        items = {x.gds_mtno for x in load.list_items(conn, units.docs)} - units.norefs
        units.norefs |= _with_unreferenced(conn, items)
    if units.norefs:
        units.docs |= {x.etps_inner_invt_no for x in load.orphan_lists(conn, units.norefs)}


def _with_unreferenced(conn: Connection, items: set[str]) -> set[str]:
    query = select(E.c.gds_mtno).where(E.c.doc_ref.is_(None), E.c.needs_list.is_(True)).distinct()
    return {m for part in load.chunks(items) for (m,) in conn.execute(query.where(E.c.gds_mtno.in_(part)))}


def _declarations(conn: Connection, units: Units, after: int) -> None:
    """C3/C4/C6/C8 units: passports, 出入库单 and their 集报 links with new receipts; lists whose
    document moved (C8) or that share a passport with a changed list (一车多票 allocation)."""
    new_docs = {d for d in units.docs if d}
    units.lists |= {no for part in load.chunks(new_docs) for (no,) in conn.execute(
        select(H.c.bond_invt_no).where(H.c.etps_inner_invt_no.in_(part)))}
    changed = set(conn.execute(select(PP.c.passport_no).where(PP.c.receipt_id > after)).scalars())
    changed |= _named_by_receipts(conn, after)
    units.gates |= changed
    linked = load_gate.links(conn, None, changed)
    units.lists |= {no for nos in linked.values() for no in nos} | _remembered(conn, changed, linked)
    units.lists |= {no for nos in load_gate.links(conn, units.lists).values() for no in nos}
    units.bills |= set(conn.execute(select(SB.c.sas_stock_no).where(SB.c.receipt_id > after)).scalars())
    units.bills |= set(conn.execute(select(CL.c.sas_stock_no).where(CL.c.receipt_id > after)).scalars())


def _named_by_receipts(conn: Connection, after: int) -> set[str]:
    """Passports a new receipt names by number although their head kept an older receipt id: a
    lower-ranked receipt brought the lines and links of a passport stored without any (those rows
    carry no receipt id of their own). The declaration store now stamps the head with that
    receipt, which also covers a receipt naming only a draft number; this look-up stays for
    rows written the old way."""
    named = select(receipts.c.business_id).where(receipts.c.id > after, receipts.c.business_id.is_not(None))
    return set(conn.execute(select(PP.c.passport_no).where(PP.c.passport_no.in_(named))).scalars())


def _remembered(conn: Connection, changed: set[str], linked: dict[str, set[str]]) -> set[str]:
    """The lists these passports named before; then remember what they name now."""
    old = {no for part in load.chunks(changed) for (no,) in conn.execute(
        select(PLK.c.bond_invt_no).where(PLK.c.passport_no.in_(part)))}
    for part in load.chunks(changed):
        conn.execute(PLK.delete().where(PLK.c.passport_no.in_(part)))
    rows = [{"passport_no": p, "bond_invt_no": no} for p, nos in linked.items() for no in nos]
    if rows:
        conn.execute(PLK.insert(), rows)
    return old


def refill_balances(conn: Connection, balances: dict) -> None:
    """After a reset: the running balances, in bulk."""
    if balances:
        conn.execute(CB.insert(), [{"bws_no": b, "gds_seqno": str(s), "gds_mtno": x.gds_mtno, "unit": x.unit,
                                    "qty": x.qty, "last_occurred_at": x.last_occurred_at}
                                   for (b, s), x in balances.items()])


def refill_links(conn: Connection) -> None:
    """After a reset: list documents and passport links, by SQL (no rule reads them in a rebuild:
    ticks do, to find what a changed list or passport dirties)."""
    conn.execute(LD.insert().from_select(["bond_invt_no", "doc_ref"], select(H.c.bond_invt_no, H.c.etps_inner_invt_no)))
    links = (select(LK.c.passport_no, LK.c.rlt_no).where(LK.c.rlt_tb_typecd == load_gate.LIST_LINK).distinct())
    conn.execute(PLK.insert().from_select(["passport_no", "bond_invt_no"], links))


def reset(conn: Connection) -> None:
    """Forget all derived state (a rebuild recomputes it)."""
    for table in (S, P, CB, LD, PLK):
        conn.execute(table.delete())
