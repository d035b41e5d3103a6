"""The ledger stage: staged movement revisions -> ledger entries, through the item mapping.

A new revision of a line first reverses whatever the previous revision posted, then posts its own
entry, so the ledger is an append-only history an auditor can replay. A movement the mapping does
not cover goes to quarantine with its reason; when the mapping changes (new version), quarantined
movements are tried again.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from connector import quarantine
from connector.errors import MappingError
from connector.mapping import map_movement, needs_list
from connector.mapping_file import Mapping
from connector.model import LedgerEntry, Movement
from connector.store.engine import Store
from connector.store.tables import ledger_entries, movements


def post_source(store: Store, source: str, mapping: Mapping, *, clock, log, batch_size: int = 1000) -> dict[str, Any]:
    """Post every pending (or re-triable) revision of one source; return counts by outcome."""
    counts: Counter = Counter()
    reasons: Counter = Counter()
    while True:
        with store.begin() as conn:
            rows = _due(conn, source, mapping.version, batch_size)
            for row in rows:
                outcome = post_revision(conn, row, mapping, clock.now())
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


OUTCOMES = ("posted", "ignored", "superseded")


def post_revision(conn: Connection, row: Any, mapping: Mapping, now: datetime) -> str:
    """Post one revision; returns 'posted', 'ignored', 'superseded' or the quarantine reason.

    Only the latest revision of a line is posted: an older one still due (quarantined, then
    retried after a mapping change) must not reverse what its successor posted."""
    if not _is_latest(conn, row):
        _mark(conn, row.id, "superseded", mapping.version)
        return "superseded"
    movement = _movement(row)
    reverse_previous(conn, row.source, row.line_key, row.id, now)
    try:
        entry = map_movement(movement, mapping)
    except MappingError as exc:
        quarantine.put(conn, stage="mapping", source=row.source, ref=row.line_key, reason=exc.reason,
                       detail=f"revision {row.revision}: {exc.detail}", payload=_payload(row), now=now)
        _mark(conn, row.id, "quarantined", mapping.version)
        return exc.reason
    quarantine.resolve(conn, stage="mapping", source=row.source, ref=row.line_key, now=now)
    if entry is not None:
        _insert_entry(conn, row, entry, needs_list(movement, mapping), now, reverses=None)
    _mark(conn, row.id, "posted" if entry else "ignored", mapping.version)
    return "posted" if entry else "ignored"


def _is_latest(conn: Connection, row: Any) -> bool:
    newest = conn.execute(select(func.max(movements.c.revision))
                          .where(movements.c.source == row.source, movements.c.line_key == row.line_key)).scalar()
    return row.revision == newest


def reverse_previous(conn: Connection, source: str, line_key: str, movement_id: int, now: datetime) -> None:
    """Cancel the live entry of earlier revisions of this line (an entry not yet reversed)."""
    live = _live_entries(conn, source, line_key)
    for entry in live:
        if entry.movement_id == movement_id:
            continue
        values = {k: v for k, v in entry._mapping.items() if k not in ("id", "reverses_id", "created_at")}
        values.update(dcl_qty=-entry.dcl_qty, lawf_qty=-entry.lawf_qty, reverses_id=entry.id, created_at=now,
                      movement_id=movement_id, action="reversal")
        conn.execute(ledger_entries.insert().values(**values))


def _live_entries(conn: Connection, source: str, line_key: str) -> list[Any]:
    e = ledger_entries.c
    rows = list(conn.execute(select(ledger_entries).where(e.source == source, e.line_key == line_key)))
    reversed_ids = {r.reverses_id for r in rows if r.reverses_id is not None}
    return [r for r in rows if r.reverses_id is None and r.id not in reversed_ids]


def _insert_entry(conn: Connection, row: Any, entry: LedgerEntry, needs: bool, now: datetime, reverses) -> None:
    item = entry.item
    conn.execute(ledger_entries.insert().values(
        movement_id=row.id, source=row.source, line_key=row.line_key, revision=row.revision,
        mapping_version=entry.mapping_version, bws_no=item.bws_no, gds_seqno=item.gds_seqno,
        gds_mtno=item.gds_mtno, gdecd=item.gdecd, direction=entry.direction, action=entry.action,
        dcl_qty=entry.dcl_qty, dcl_unitcd=item.dcl_unitcd, lawf_qty=entry.lawf_qty, lawf_unitcd=item.lawf_unitcd,
        doc_ref=entry.doc_ref, needs_list=needs, occurred_at=entry.occurred_at, reverses_id=reverses,
        created_at=now))


def _mark(conn: Connection, movement_id: int, state: str, version: str) -> None:
    conn.execute(movements.update().where(movements.c.id == movement_id)
                 .values(ledger_state=state, mapping_version=version))


def _movement(row: Any) -> Movement:
    return Movement(source=row.source, line_key=row.line_key, sku=row.sku, qty=row.qty, uom=row.uom,
                    movement_type=row.movement_type, doc_ref=row.doc_ref, occurred_at=row.occurred_at,
                    changed_at=row.changed_at, lot=row.lot, location=row.location)


def _payload(row: Any) -> dict[str, Any]:
    return {"revision": row.revision, "sku": row.sku, "qty": str(row.qty), "uom": row.uom,
            "movement_type": row.movement_type, "doc_ref": row.doc_ref}
