"""The 料号 each orphan 核注清单 had when last looked at (`compare_list_items`, revision 0007).

C2 lets a list whose document no movement names (an orphan) cover unreferenced movements of its 料号
(unreferenced.py). When such a list is re-declared with other 料号, the movements it covered lose
their cover, yet a tick only sees the list's new lines: the 料号 it had are read from here, and
their unreferenced movements are evaluated again. Only lists that are orphans are kept — a list
whose document a movement names covers nothing — and a list can become an orphan only through
entries of its document, which dirty that document: each tick re-records the lists of its dirty
documents. A rebuild records every orphan list. One row per list: its lines' 料号 joined by \\x1f.
"""

from __future__ import annotations

from sqlalchemy import Connection, exists, func, literal_column, select

from connector.compare.load import chunks
from connector.store.tables import bond_invt_heads as H
from connector.store.tables import bond_invt_lines as BL
from connector.store.tables import ledger_entries as E
from connector.store.tables_compare_periods import compare_list_items as LI

SEP = "\x1f"  # a 料号 holding it splits into more 料号: only more units are evaluated
_ITEMS = select(BL.c.bond_invt_no, func.aggregate_strings(  # a literal '': PostgreSQL types it in GROUP BY
    func.coalesce(BL.c.gds_mtno, literal_column("''")), SEP)).group_by(BL.c.bond_invt_no)
_NAMED = exists().where(E.c.doc_ref == H.c.etps_inner_invt_no, E.c.needs_list.is_(True))
_ORPHANS = select(H.c.bond_invt_no).where(H.c.etps_inner_invt_no.is_not(None), ~_NAMED)


def forget(conn: Connection, lists: set[str]) -> set[str]:
    """The 料号 these lists had when last recorded (as orphans); their rows are dropped."""
    old: set[str] = set()
    for part in chunks(lists):
        for mtnos in conn.execute(select(LI.c.mtnos).where(LI.c.bond_invt_no.in_(part))).scalars():
            old |= set(mtnos.split(SEP))
        conn.execute(LI.delete().where(LI.c.bond_invt_no.in_(part)))
    return old - {""}


def remember(conn: Connection, docs: set[str]) -> None:
    """Record again the lists of these documents: the orphans with their 料号 now, the others not."""
    for part in chunks(docs):
        lists = select(H.c.bond_invt_no).where(H.c.etps_inner_invt_no.in_(part))
        conn.execute(LI.delete().where(LI.c.bond_invt_no.in_(lists)))
        orphans = _ORPHANS.where(H.c.etps_inner_invt_no.in_(part))
        conn.execute(LI.insert().from_select(["bond_invt_no", "mtnos"], _ITEMS.where(BL.c.bond_invt_no.in_(orphans))))


def refill(conn: Connection, docs: set[str] | None = None) -> None:
    """A rebuild: every orphan list (`docs`: only those of these documents, when the screen already
    knows which documents have 核注清单 lines but no movement: no lookup per list then)."""
    conn.execute(LI.delete())
    if docs is not None:
        remember(conn, docs)
        return
    conn.execute(LI.insert().from_select(["bond_invt_no", "mtnos"], _ITEMS.where(BL.c.bond_invt_no.in_(_ORPHANS))))
