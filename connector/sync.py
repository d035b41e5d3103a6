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
    reasons: Counter = Counter()
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
    for movement in batch.movements:
        counts[stage_movement(conn, movement, now)] += 1
    for error in batch.errors:
        quarantine.put(conn, stage="source", source=name, ref=error.line_key, reason=error.reason,
                       detail=error.detail, payload=error.raw, now=now)
        counts["quarantined"] += 1
    if batch.cursor is not None:
        save_cursor(conn, name, batch.cursor, now)
    return counts


def stage_movement(conn: Connection, movement: Movement, now: datetime) -> str:
    """Insert a new revision when the content changed; return 'new', 'revised' or 'unchanged'."""
    digest = content_hash(movement)
    latest = conn.execute(
        select(movements.c.revision, movements.c.content_hash)
        .where(movements.c.source == movement.source, movements.c.line_key == movement.line_key)
        .order_by(movements.c.revision.desc()).limit(1)).first()
    if latest and latest.content_hash == digest:
        return "unchanged"
    conn.execute(movements.insert().values(
        source=movement.source, line_key=movement.line_key, revision=(latest.revision + 1) if latest else 1,
        content_hash=digest, sku=movement.sku, qty=movement.qty, uom=movement.uom,
        movement_type=movement.movement_type, doc_ref=movement.doc_ref, lot=movement.lot,
        location=movement.location, occurred_at=movement.occurred_at, changed_at=movement.changed_at,
        extra=movement.extra or None, staged_at=now, ledger_state="pending"))
    return "revised" if latest else "new"


def content_hash(movement: Movement) -> str:
    """What makes a revision: every business field, not the change timestamp."""
    fields = [movement.sku, str(movement.qty.normalize()), movement.uom, movement.movement_type,
              movement.doc_ref, movement.lot, movement.location, movement.occurred_at.isoformat()]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


def _encode_cursor(cursor: dict[str, Any]) -> dict[str, Any]:
    """Keep the raw driver values and their type, so they bind back exactly as read."""
    return {k: ({"t": "datetime", "v": v.isoformat()} if isinstance(v, datetime) else {"t": type(v).__name__, "v": v if isinstance(v, (int, str, float)) else str(v)})
            for k, v in cursor.items()}


def _decode_cursor(value: dict[str, Any]) -> dict[str, Any]:
    from decimal import Decimal

    parse = {"datetime": datetime.fromisoformat, "int": int, "str": str, "float": float, "Decimal": Decimal}
    return {k: parse.get(v["t"], str)(v["v"]) for k, v in value.items()}
