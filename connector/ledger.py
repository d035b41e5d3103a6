"""The ledger stage: staged movement revisions -> ledger entries, through the item mapping.

A new revision of a line first reverses whatever the previous revision posted, then posts its own
entry, so the ledger is an append-only history an auditor can replay. A movement the mapping does
not cover goes to quarantine with its reason; when the mapping changes (new version), quarantined
movements are tried again. Only the latest revision of a line is posted: an older one still due
(quarantined, then retried after a mapping change) must not reverse what its successor posted.

A backfill posts millions of revisions, so each batch is one transaction with a fixed number of
statements: it loads, for the batch's lines, the newest revision, the live entries and the open
quarantine entries, decides every row in Python, then writes with executemany.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from connector.errors import MappingError
from connector.mapping import map_movement, needs_list
from connector.mapping_file import Mapping
from connector.model import LedgerEntry, Movement
from connector.store.engine import Store
from connector.store.tables import ledger_entries, movements, quarantine

OUTCOMES = ("posted", "ignored", "superseded")
CHUNK = 500


def post_source(store: Store, source: str, mapping: Mapping, *, clock, log, batch_size: int = 5000) -> dict[str, Any]:
    """Post every pending (or re-triable) revision of one source; return counts by outcome."""
    counts: Counter = Counter()
    reasons: Counter = Counter()
    while True:
        with store.begin() as conn:
            rows = _due(conn, source, mapping.version, batch_size)
            for outcome in _post_batch(conn, source, rows, mapping, clock.now()):
                counts[outcome if outcome in OUTCOMES else "quarantined"] += 1
                if outcome not in OUTCOMES:
                    reasons[outcome] += 1
        if len(rows) < batch_size:
            break
    for reason, n in reasons.items():
        log.warning("movements_quarantined", source=source, reason=reason, rows=n)
    return {**counts, "quarantined_by_reason": dict(reasons)}


def _due(conn: Connection, source: str, version: str, limit: int) -> list[Any]:
    state = movements.c.ledger_state
    due = or_(state == "pending", and_(state == "quarantined", movements.c.mapping_version != version))
    return list(conn.execute(select(movements).where(movements.c.source == source, due)
                             .order_by(movements.c.id).limit(limit)))


class _Writes:
    """What one batch writes, collected in row order."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.marks: list[dict[str, Any]] = []
        self.quarantined: list[dict[str, Any]] = []
        self.resolved: set[str] = set()


def _post_batch(conn: Connection, source: str, rows: list[Any], mapping: Mapping, now: datetime) -> list[str]:
    keys = sorted({r.line_key for r in rows})
    newest, live, held = _newest(conn, source, keys), live_entries(conn, source, keys), _open(conn, source, keys)
    writes, outcomes = _Writes(), []
    for row in rows:
        outcomes.append(_decide(row, mapping, now, newest, live, held, writes))
    _flush(conn, source, writes, now)
    return outcomes


def _decide(row, mapping: Mapping, now: datetime, newest, live, held, writes: _Writes) -> str:
    """One revision: 'posted', 'ignored', 'superseded' or the quarantine reason (writes collected)."""
    if row.revision != newest.get(row.line_key):
        return _mark(writes, row, "superseded", mapping.version)
    for entry in live.pop(row.line_key, []):
        if entry["movement_id"] != row.id:
            writes.entries.append(_reversal(entry, row.id, now))
    movement = staged_movement(row)
    try:
        entry = map_movement(movement, mapping)
    except MappingError as exc:
        if exc.reason not in held[row.line_key]:
            held[row.line_key].add(exc.reason)
            writes.quarantined.append({"stage": "mapping", "source": row.source, "ref": row.line_key,
                                       "reason": exc.reason, "detail": f"revision {row.revision}: {exc.detail}",
                                       "payload": _payload(row), "created_at": now})
        _mark(writes, row, "quarantined", mapping.version)
        return exc.reason
    if held.pop(row.line_key, None):
        writes.resolved.add(row.line_key)
    if entry is not None:
        writes.entries.append(_entry(row, entry, needs_list(movement, mapping), now))
    return _mark(writes, row, "posted" if entry else "ignored", mapping.version)


def _mark(writes: _Writes, row, state: str, version: str) -> str:
    writes.marks.append({"b_id": row.id, "b_state": state, "b_version": version})
    return state


def _flush(conn: Connection, source: str, writes: _Writes, now: datetime) -> None:
    q = quarantine.c
    refs = sorted(writes.resolved)
    for start in range(0, len(refs), CHUNK):
        conn.execute(update(quarantine).where(q.stage == "mapping", q.source == source, q.resolved_at.is_(None),
                                              q.ref.in_(refs[start:start + CHUNK])).values(resolved_at=now))
    if writes.quarantined:
        conn.execute(quarantine.insert(), writes.quarantined)
    if writes.entries:  # one executemany needs one set of keys: a reversal copies every column of its entry
        names = set().union(*writes.entries)
        conn.execute(ledger_entries.insert(), [{k: e.get(k) for k in names} for e in writes.entries])
    if writes.marks:
        conn.execute(update(movements).where(movements.c.id == bindparam("b_id")).values(
            ledger_state=bindparam("b_state"), mapping_version=bindparam("b_version")), writes.marks)


def _chunks(keys: list[str]):
    for start in range(0, len(keys), CHUNK):
        yield keys[start:start + CHUNK]


def _newest(conn: Connection, source: str, keys: list[str]) -> dict[str, int]:
    m = movements.c
    found: dict[str, int] = {}
    for chunk in _chunks(keys):
        found.update(conn.execute(select(m.line_key, func.max(m.revision)).where(
            m.source == source, m.line_key.in_(chunk)).group_by(m.line_key)).all())
    return found


def live_entries(conn: Connection, source: str, keys: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per line: its entries not reversed and not themselves reversals (what a new revision cancels)."""
    e = ledger_entries.c
    by_line: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks(keys):
        for entry in conn.execute(select(ledger_entries).where(e.source == source, e.line_key.in_(chunk))
                                  .order_by(e.id)):
            by_line[entry.line_key].append(dict(entry._mapping))
    live: dict[str, list[dict[str, Any]]] = {}
    for key, entries in by_line.items():
        reversed_ids = {x["reverses_id"] for x in entries if x["reverses_id"] is not None}
        live[key] = [x for x in entries if x["reverses_id"] is None and x["id"] not in reversed_ids]
    return live


def _open(conn: Connection, source: str, keys: list[str]) -> defaultdict[str, set[str]]:
    """line_key -> reasons of its open mapping-stage quarantine entries."""
    q = quarantine.c
    held: defaultdict[str, set[str]] = defaultdict(set)
    for chunk in _chunks(keys):
        for ref, reason in conn.execute(select(q.ref, q.reason).where(
                q.stage == "mapping", q.source == source, q.resolved_at.is_(None), q.ref.in_(chunk))):
            held[ref].add(reason)
    return held


def _reversal(entry: dict[str, Any], movement_id: int, now: datetime) -> dict[str, Any]:
    values = {k: v for k, v in entry.items() if k not in ("id", "reverses_id", "created_at")}
    values.update(dcl_qty=-entry["dcl_qty"], lawf_qty=-entry["lawf_qty"], reverses_id=entry["id"], created_at=now,
                  movement_id=movement_id, action="reversal")
    return values


def _entry(row: Any, entry: LedgerEntry, needs: bool, now: datetime) -> dict[str, Any]:
    item = entry.item
    return {"movement_id": row.id, "source": row.source, "line_key": row.line_key, "revision": row.revision,
            "mapping_version": entry.mapping_version, "bws_no": item.bws_no, "gds_seqno": item.gds_seqno,
            "gds_mtno": item.gds_mtno, "gdecd": item.gdecd, "direction": entry.direction, "action": entry.action,
            "dcl_qty": entry.dcl_qty, "dcl_unitcd": item.dcl_unitcd, "lawf_qty": entry.lawf_qty,
            "lawf_unitcd": item.lawf_unitcd, "doc_ref": entry.doc_ref, "needs_list": needs,
            "occurred_at": entry.occurred_at, "reverses_id": None, "created_at": now}


def staged_movement(row: Any) -> Movement:
    """A staged revision (a `movements` row) as the Movement the mapping takes."""
    return Movement(source=row.source, line_key=row.line_key, sku=row.sku, qty=row.qty, uom=row.uom,
                    movement_type=row.movement_type, doc_ref=row.doc_ref, occurred_at=row.occurred_at,
                    changed_at=row.changed_at, lot=row.lot, location=row.location)


def _payload(row: Any) -> dict[str, Any]:
    return {"revision": row.revision, "sku": row.sku, "qty": str(row.qty), "uom": row.uom,
            "movement_type": row.movement_type, "doc_ref": row.doc_ref}
