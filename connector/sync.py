"""The sync stage: pull batches from a WMS source and stage them, cursor in the same transaction.

Each batch is one store transaction: its movements (a changed row becomes a new revision, an
unchanged re-read is skipped by content hash), its bad rows (quarantine) and the cursor that
covers exactly those rows. A crash between batches loses nothing and repeats nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from connector import quarantine
from connector.abc import SourceAdapter
from connector.model import Batch, Movement
from connector.store.engine import Store
from connector.store.tables import movements, source_cursors


def sync_source(store: Store, name: str, adapter: SourceAdapter, *, clock, log, batch_size: int,
                max_batches: int = 1000) -> dict[str, Any]:
    """Read until the source is exhausted (or max_batches); return counts, reasons quarantined."""
    counts: Counter = Counter()
    unkeyed = adapter.fetch_unkeyed()
    reasons: Counter = Counter(e.reason for e in unkeyed)
    if unkeyed:
        with store.begin() as conn:
            counts.update(stage_batch(conn, name, Batch([], unkeyed, None, True), clock.now()))
    for _ in range(max_batches):
        with store.read() as conn:
            cursor = load_cursor(conn, name)
        batch = adapter.fetch(cursor, batch_size)
        with store.begin() as conn:
            counts.update(stage_batch(conn, name, batch, clock.now()))
        reasons.update(e.reason for e in batch.errors)
        if batch.exhausted:
            break
    for reason, n in reasons.items():
        log.warning("source_rows_quarantined", source=name, reason=reason, rows=n)
    return {**counts, "quarantined_by_reason": dict(reasons)}


def load_cursor(conn: Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(select(source_cursors.c.value).where(source_cursors.c.source == name)).first()
    return _decode_cursor(row[0]) if row else None


def save_cursor(conn: Connection, name: str, cursor: dict[str, Any], now: datetime) -> None:
    value = _encode_cursor(cursor)
    updated = conn.execute(source_cursors.update().where(source_cursors.c.source == name)
                           .values(value=value, updated_at=now))
    if updated.rowcount == 0:
        conn.execute(source_cursors.insert().values(source=name, value=value, updated_at=now))


def stage_batch(conn: Connection, name: str, batch: Batch, now: datetime) -> Counter:
    counts: Counter = Counter(read=len(batch.movements) + len(batch.errors))
    counts.update(stage_movements(conn, name, batch.movements, now))
    # a row fixed at the source closes its quarantine entry
    quarantine.resolve_many(conn, stage="source", source=name, refs=[m.line_key for m in batch.movements], now=now)
    for error in batch.errors:
        quarantine.put(conn, stage="source", source=name, ref=error.line_key, reason=error.reason,
                       detail=error.detail, payload=error.raw, now=now)
        counts["quarantined"] += 1
    if batch.cursor is not None:
        save_cursor(conn, name, batch.cursor, now)
    return counts


def stage_movements(conn: Connection, name: str, batch: list[Movement], now: datetime) -> Counter:
    """Insert a new revision for each line whose content changed: 'new', 'revised' or 'unchanged'."""
    counts: Counter = Counter()
    latest = _latest_revisions(conn, name, {m.line_key for m in batch})
    rows = []
    for movement in batch:
        digest = content_hash(movement)
        revision, previous = latest.get(movement.line_key, (0, None))
        if previous == digest:
            counts["unchanged"] += 1
            continue
        latest[movement.line_key] = (revision + 1, digest)
        rows.append(_row(movement, revision + 1, digest, now))
        counts["revised" if revision else "new"] += 1
    if rows:
        conn.execute(movements.insert(), rows)
    return counts


def _latest_revisions(conn: Connection, name: str, keys: set[str]) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        query = (select(movements.c.line_key, movements.c.revision, movements.c.content_hash)
                 .where(movements.c.source == name, movements.c.line_key.in_(chunk)))
        for key, revision, digest in conn.execute(query):
            if revision > found.get(key, (0, ""))[0]:
                found[key] = (revision, digest)
    return found


def _row(movement: Movement, revision: int, digest: str, now: datetime) -> dict[str, Any]:
    return dict(source=movement.source, line_key=movement.line_key, revision=revision, content_hash=digest,
                sku=movement.sku, qty=movement.qty, uom=movement.uom, movement_type=movement.movement_type,
                doc_ref=movement.doc_ref, lot=movement.lot, location=movement.location,
                occurred_at=movement.occurred_at, changed_at=movement.changed_at, extra=movement.extra or None,
                staged_at=now, ledger_state="pending", mapping_version=None)


def content_hash(movement: Movement) -> str:
    """What makes a revision: every business field, not the change timestamp."""
    fields = [movement.sku, str(movement.qty.normalize()), movement.uom, movement.movement_type,
              movement.doc_ref, movement.lot, movement.location, movement.occurred_at.isoformat()]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


def _encode_cursor(cursor: dict[str, Any]) -> dict[str, Any]:
    """Keep the raw driver values and their type, so they bind back exactly as read."""
    return {key: _typed(value) for key, value in cursor.items()}


def _typed(value: Any) -> dict[str, Any]:
    if value is None:
        raise ValueError("a cursor value cannot be NULL")
    if isinstance(value, datetime):
        return {"t": "datetime", "v": value.isoformat()}
    if isinstance(value, (int, str, float)):
        return {"t": type(value).__name__, "v": value}
    return {"t": type(value).__name__, "v": str(value)}


def _decode_cursor(value: dict[str, Any]) -> dict[str, Any]:
    from decimal import Decimal

    parse = {"datetime": datetime.fromisoformat, "int": int, "str": str, "float": float, "Decimal": Decimal}
    return {k: parse.get(v["t"], str)(v["v"]) for k, v in value.items()}
