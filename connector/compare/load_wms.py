"""Loads of the WMS-side rules that need movement fields: C5 dispatches (and the C4 WMS gross weight),
C7 located stock. The ledger stage does not copy `location`, `lot` or `extra` onto ledger entries, so
they are read from the movement revision an entry was posted for, joined on (source, line_key,
revision) — a reversal carries the revision it reverses, so it joins the same movement.

Dispatches: `compare_dispatches` keeps the movement revisions whose `extra` names a vehicle
(`vehicle_no`, `dispatched_at` (default `occurred_at`), `gross_wt` in kg), filled from the new entries'
movements on a tick and from every movement on a rebuild; a revision is a live outbound line when the
sum of its entries (entry + reversal) is below zero.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import Connection, and_, func, literal_column, or_, select

from connector.compare.load import chunks, raw, rows
from connector.compare.rules.dispatch import Dispatch
from connector.store.tables import ledger_entries as E
from connector.store.tables import movements as M
from connector.store.tables_compare_periods import compare_dispatches as CD

ZERO = Decimal(0)
T = datetime.fromisoformat


def _dispatch_row(source, line_key, revision, doc_ref, occurred_at, extra) -> dict | None:
    """The dispatch fields of one movement revision, or None when its `extra` names no vehicle."""
    extra = json.loads(extra) if isinstance(extra, str) else extra
    vehicle = (extra or {}).get("vehicle_no")
    if not isinstance(vehicle, str) or not vehicle.strip():
        return None
    try:
        at = T(extra["dispatched_at"]) if extra.get("dispatched_at") else T(occurred_at)
        gross = Decimal(str(extra["gross_wt"])) if extra.get("gross_wt") not in (None, "") else None
    except (ValueError, InvalidOperation):
        at, gross = T(occurred_at), None  # unreadable extras: the line still left on that vehicle
    at = at if at.tzinfo else T(occurred_at)
    return {"source": source, "line_key": line_key, "revision": revision, "vehicle_no": vehicle.strip(),
            "dispatched_at": at, "gross_wt": gross if gross is None or gross.is_finite() else None,
            "doc_ref": doc_ref}


def _movement_query():
    return select(M.c.source, M.c.line_key, M.c.revision, M.c.doc_ref, raw(M.c.occurred_at), M.c.extra) \
        .where(M.c.extra.is_not(None))


def refill_dispatches(conn: Connection) -> None:
    """A rebuild: every movement revision naming a vehicle."""
    conn.execute(CD.delete())
    found = [d for r in rows(conn, _movement_query()) if (d := _dispatch_row(*r))]
    if found:
        conn.execute(CD.insert(), found)


def record_dispatches(conn: Connection, movement_ids: set[int]) -> None:
    """A tick: the movements of new entries that name a vehicle (kept once per revision)."""
    query = _movement_query()
    found = [d for part in chunks(movement_ids) for r in rows(conn, query.where(M.c.id.in_(part)))
             if (d := _dispatch_row(*r))]
    keys = {(d["source"], d["line_key"], d["revision"]) for d in found}
    have = set(_dispatch_keys(conn, keys))
    fresh = [d for d in found if (d["source"], d["line_key"], d["revision"]) not in have]
    if fresh:
        conn.execute(CD.insert(), fresh)


def _dispatch_keys(conn: Connection, keys: set[tuple]) -> dict[tuple, str]:
    """(source, line_key, revision) -> vehicle, for the keys that are dispatches (looked up by the
    primary key's first columns, filtered exactly here)."""
    out = {}
    query = select(CD.c.source, CD.c.line_key, CD.c.revision, CD.c.vehicle_no)
    for part in chunks(keys):
        found = conn.execute(query.where(CD.c.source.in_({k[0] for k in part}),
                                         CD.c.line_key.in_({k[1] for k in part})))
        out.update({(s, k, r): v for s, k, r, v in found if (s, k, r) in keys})
    return out


def vehicles_of(conn: Connection, keys: set[tuple]) -> set[str]:
    return set(_dispatch_keys(conn, keys).values())


def dispatch_query():
    """Every dispatch with its entries' quantities (outer: SQLite reads the dispatches first, then
    their entries by line, instead of every entry)."""
    return (select(CD.c.vehicle_no, raw(CD.c.dispatched_at), raw(CD.c.gross_wt), CD.c.doc_ref, CD.c.source,
                   CD.c.line_key, CD.c.revision, raw(E.c.dcl_qty))
            .outerjoin(E, and_(E.c.source == CD.c.source, E.c.line_key == CD.c.line_key,
                               E.c.revision == CD.c.revision)))


def dispatches(conn: Connection, vehicles: set[str] | None, as_of: datetime | None = None) -> dict[str, list[Dispatch]]:
    """Per vehicle its dispatches: live outbound revisions grouped by dispatch time."""
    if as_of is not None:
        return _group(_dispatches_as_of(conn, vehicles, as_of))
    query = dispatch_query()
    found = rows(conn, query) if vehicles is None else (
        r for part in chunks(vehicles) for r in rows(conn, query.where(CD.c.vehicle_no.in_(part))))
    lines: dict[tuple, list] = {}
    for vehicle, at, gross, doc, source, key, rev, qty in found:
        if qty is None:  # no entry for this revision
            continue
        line = lines.setdefault((source, key, rev), [vehicle, T(at), gross, doc, ZERO])
        line[4] += Decimal(qty)
    return _group(lines)


def _dispatches_as_of(conn: Connection, vehicles: set[str] | None, as_of: datetime) -> dict[tuple, list]:
    """`--as-of`: the dispatch lines read from the movement revisions of the entries known by then,
    not from `compare_dispatches` (which holds what the comparator had seen when it last ran)."""
    query = (select(*_movement_query().selected_columns, raw(E.c.dcl_qty))
             .join(E, and_(E.c.source == M.c.source, E.c.line_key == M.c.line_key, E.c.revision == M.c.revision))
             .where(M.c.extra.is_not(None), E.c.created_at <= as_of, E.c.occurred_at <= as_of))
    lines: dict[tuple, list] = {}
    for *movement, qty in rows(conn, query):
        d = _dispatch_row(*movement)
        if d is None or (vehicles is not None and d["vehicle_no"] not in vehicles):
            continue
        line = lines.setdefault((d["source"], d["line_key"], d["revision"]),
                                [d["vehicle_no"], d["dispatched_at"].astimezone(UTC), d["gross_wt"], d["doc_ref"], ZERO])
        line[4] += Decimal(qty)
    return lines


def _group(lines: dict[tuple, list]) -> dict[str, list[Dispatch]]:
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for (source, key, rev), (vehicle, at, gross, doc, qty) in sorted(lines.items()):
        if qty < 0:
            groups[(vehicle, at)].append((f"movement:{source}:{key}#{rev}", gross, doc))
    out: dict[str, list[Dispatch]] = defaultdict(list)
    for (vehicle, at), parts in sorted(groups.items()):
        weights = [Decimal(g) for _, g, _ in parts if g is not None]
        gross = sum(weights, ZERO) if len(weights) == len(parts) else None
        out[vehicle].append(Dispatch(f"{vehicle}@{at.isoformat()}", vehicle, at, gross,
                                     tuple(sorted({d for _, _, d in parts if d})), tuple(e for e, _, _ in parts)))
    return dict(out)


def located(conn: Connection, lines: set[tuple[str, int]] | None, as_of: datetime | None = None) -> dict[tuple, list]:
    """(账册号, 商品序号, location, lot) -> [料号, Σ declared qty, last occurred] over every entry."""
    loc, lot = func.coalesce(M.c.location, literal_column("''")), M.c.lot  # literal: PostgreSQL GROUP BY
    query = (select(E.c.bws_no, E.c.gds_seqno, loc, lot, raw(E.c.dcl_qty), func.count(), func.min(E.c.gds_mtno),
                    func.max(raw(E.c.occurred_at)))
             .join(M, and_(M.c.source == E.c.source, M.c.line_key == E.c.line_key, M.c.revision == E.c.revision))
             .group_by(E.c.bws_no, E.c.gds_seqno, loc, lot, raw(E.c.dcl_qty)))
    if as_of is not None:
        query = query.where(E.c.created_at <= as_of, E.c.occurred_at <= as_of)
    found = rows(conn, query) if lines is None else (
        r for part in chunks(lines) for r in rows(conn, query.where(
            or_(*(and_(E.c.bws_no == b, E.c.gds_seqno == s) for b, s in part)))))
    out: dict[tuple, list] = {}
    for bws, seq, location, lot_no, qty, n, mtno, last in found:
        row = out.setdefault((bws, seq, location, lot_no), [mtno, ZERO, last])
        row[0], row[1], row[2] = min(row[0], mtno), row[1] + Decimal(qty) * n, max(row[2], last)
    return out
