"""C7 located stock kept in `compare_places`: per ledger line, location and lot, Σ of the entries.

The rows are what `load_wms.located` sums from every entry joined with the movement revision it was
posted for (a reversal counts at the place of the revision it reverses), with the quantities as a
DecimalText column gives them back. They exist only while C7 is configured
(`non_bonded_locations` or `non_bonded_ledgers`): a rebuild fills them then, a tick adds its new
entries to the ledger lines they touch, and the saved watermark `places` (1) says they are kept. A
tick that finds C7 configured but the table not kept (turned on since, or a store upgraded to 0007)
fills it whole once; one that finds C7 turned off empties it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, and_, or_, select

from connector.compare import load_wms
from connector.compare.load import canonical, chunks, raw, rows
from connector.compare.settings import CompareSection
from connector.store.tables import movements as M
from connector.store.tables_compare_periods import compare_places as CPL

ZERO = Decimal(0)
T = datetime.fromisoformat


def active(s: CompareSection) -> bool:
    return bool(s.non_bonded_locations or s.non_bonded_ledgers)


def marks(s: CompareSection) -> dict[str, int]:
    """The watermark saved with the others: whether `compare_places` is kept."""
    return {"places": int(active(s))}


def refill(conn: Connection, s: CompareSection) -> set[tuple[str, int]]:
    """A rebuild (and a tick that finds the table not kept): recompute every row when C7 is on;
    returns the ledger lines that have rows."""
    conn.execute(CPL.delete())
    places = load_wms.located(conn, None) if active(s) else {}
    _write(conn, places)
    return {(k[0], k[1]) for k in places}


def add_entries(conn: Connection, new: list[tuple], kept: bool, s: CompareSection) -> set[tuple[str, int]]:
    """A tick. `new`: (账册号, 商品序号, 料号, quantity text, occurred text, source, line_key, revision)
    of the new entries; `kept`: the last run kept the table. Returns the ledger lines to evaluate
    beyond those of the new entries: every line when the table was filled whole."""
    if not active(s):
        conn.execute(CPL.delete()) if kept else None
        return set()
    if not kept:
        return refill(conn, s)
    places = _places(conn, {(r[5], r[6], r[7]) for r in new})
    added: dict[tuple, list] = {}
    for bws, seq, mtno, qty, at, *revision in new:
        if (place := places.get(tuple(revision))) is not None:
            _add(added, (bws, seq, *place), mtno, Decimal(qty), at)
    lines = {(k[0], k[1]) for k in added}
    merged = read(conn, lines)
    for key, (mtno, qty, at) in added.items():
        _add(merged, key, mtno, qty, at)
    _delete(conn, lines)
    _write(conn, merged)
    return set()


def read(conn: Connection, lines: set[tuple[str, int]] | None) -> dict[tuple, list]:
    """(账册号, 商品序号, location, lot) -> [料号, Σ qty, last occurred text], like `load_wms.located`."""
    query = select(CPL.c.bws_no, CPL.c.gds_seqno, CPL.c.location, CPL.c.lot, CPL.c.gds_mtno, raw(CPL.c.qty),
                   raw(CPL.c.last_occurred_at))
    found = rows(conn, query) if lines is None else (
        r for part in chunks(lines) for r in rows(conn, query.where(
            or_(*(and_(CPL.c.bws_no == b, CPL.c.gds_seqno == q) for b, q in part)))))
    return {(b, q, loc, lot): [m, Decimal(qty), at] for b, q, loc, lot, m, qty, at in found}


def _places(conn: Connection, revisions: set[tuple]) -> dict[tuple, tuple[str, str | None]]:
    """(source, line_key, revision) -> (location or '', lot) of these movement revisions."""
    query = select(M.c.source, M.c.line_key, M.c.revision, M.c.location, M.c.lot)
    out = {}
    for part in chunks(revisions):
        found = conn.execute(query.where(M.c.source.in_({k[0] for k in part}), M.c.line_key.in_({k[1] for k in part})))
        out.update({(s, k, v): (loc or "", lot) for s, k, v, loc, lot in found if (s, k, v) in revisions})
    return out


def _add(into: dict[tuple, list], key: tuple, mtno: str, qty: Decimal, at: str) -> None:
    row = into.setdefault(key, [mtno, ZERO, at])
    row[0], row[1], row[2] = min(row[0], mtno), row[1] + qty, max(row[2], at)


def _delete(conn: Connection, lines: set[tuple[str, int]]) -> None:
    for part in chunks(lines):
        conn.execute(CPL.delete().where(or_(*(and_(CPL.c.bws_no == b, CPL.c.gds_seqno == q) for b, q in part))))


def _write(conn: Connection, places: dict[tuple, list]) -> None:
    found = [{"bws_no": b, "gds_seqno": q, "location": loc, "lot": lot, "gds_mtno": m, "qty": canonical(qty),
              "last_occurred_at": T(at)} for (b, q, loc, lot), (m, qty, at) in places.items()]
    for i in range(0, len(found), 5000):
        conn.execute(CPL.insert(), found[i:i + 5000])
