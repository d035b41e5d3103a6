"""The comparator engine: run the rules, keep the discrepancy life cycle, queue what changed.

A discrepancy and its outbox rows are written in one transaction. Life cycle: a new finding is
`open` (version 1); a changed finding bumps the version; one the rules no longer produce (and do
not hold back as in flight) becomes `resolved`; a resolved one found again is re-opened.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from connector import outbox
from connector.compare import load, rules
from connector.config.schema import CompareSection
from connector.model import Discrepancy
from connector.store.engine import Store
from connector.store.tables import discrepancies

KINDS = tuple(rules.KIND_LABELS)


def compare(store: Store, settings: CompareSection, *, routes: dict[str, list[str]], site: str,
            clock, log) -> dict[str, int]:
    """One full comparison run; returns counts of opened / updated / resolved / in flight."""
    now = clock.now()
    with store.begin() as conn:
        found, in_flight = evaluate(conn, settings, now)
        counts = apply(conn, found, in_flight, now, routes=routes, site=site)
    log.info("compare_done", **counts)
    return counts


def evaluate(conn: Connection, settings: CompareSection, now: datetime) -> tuple[list[Discrepancy], set[str]]:
    moved = rules.movement_vs_list(load.wms_doc_items(conn), load.list_items(conn), now, settings)
    held = rules.balance(load.wms_balances(conn), load.ledger_states(conn), now, settings)
    return moved.found + held.found, moved.in_flight | held.in_flight


def apply(conn: Connection, found: list[Discrepancy], in_flight: set[str], now: datetime, *,
          routes: dict[str, list[str]], site: str) -> dict[str, int]:
    counts: Counter = Counter(in_flight=len(in_flight))
    existing = {r.id: r for r in conn.execute(select(discrepancies).where(discrepancies.c.kind.in_(KINDS)))}
    for d in found:
        event = _upsert(conn, d, existing.get(d.id), now)
        counts[event or "unchanged"] += 1
        if event:
            _queue(conn, event, d.id, now, routes, site)
    for did, row in existing.items():
        if row.status == "open" and did not in in_flight and did not in {d.id for d in found}:
            _resolve(conn, row, now)
            counts["resolved"] += 1
            _queue(conn, "resolved", did, now, routes, site)
    return {k: counts.get(k, 0) for k in ("opened", "updated", "resolved", "unchanged", "in_flight")}


def content_hash(d: Discrepancy) -> str:
    """What makes a new version: the figures and references, not the times in the details
    (a later copy of the same ledger state is not news)."""
    details = {k: v for k, v in d.details.items() if not k.endswith(("_at", "_as_of"))}
    fields = [d.kind, d.ledger_no, d.item_seq, d.item_no, list(d.doc_refs), str(d.expected_qty),
              str(d.actual_qty), str(d.delta_qty), d.unit, details]
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _upsert(conn: Connection, d: Discrepancy, row: Any, now: datetime) -> str | None:
    digest = content_hash(d)
    values = dict(kind=d.kind, ledger_no=d.ledger_no, item_seq=d.item_seq, item_no=d.item_no,
                  doc_refs=list(d.doc_refs), expected_qty=d.expected_qty, actual_qty=d.actual_qty,
                  delta_qty=d.delta_qty, unit=d.unit, details=d.details, content_hash=digest, last_seen=now)
    if row is None:
        conn.execute(discrepancies.insert().values(id=d.id, status="open", version=1, first_seen=now, **values))
        return "opened"
    if row.status == "open" and row.content_hash == digest:
        conn.execute(discrepancies.update().where(discrepancies.c.id == d.id).values(last_seen=now))
        return None
    event = "updated" if row.status == "open" else "opened"
    conn.execute(discrepancies.update().where(discrepancies.c.id == d.id)
                 .values(status="open", version=row.version + 1, resolved_at=None, **values))
    return event


def _resolve(conn: Connection, row: Any, now: datetime) -> None:
    conn.execute(discrepancies.update().where(discrepancies.c.id == row.id)
                 .values(status="resolved", version=row.version + 1, resolved_at=now, last_seen=now))


def _queue(conn: Connection, event: str, did: str, now: datetime, routes: dict[str, list[str]], site: str) -> None:
    row = conn.execute(select(discrepancies).where(discrepancies.c.id == did)).one()
    name = f"discrepancy.{event}"
    payload = {"site": site, "event": name, "discrepancy": as_dict(row)}
    for sink, patterns in routes.items():
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            outbox.enqueue(conn, sink=sink, event=name, key=f"{did}:{row.version}:{name}",
                           discrepancy_id=did, payload=payload, now=now)


def as_dict(row: Any) -> dict[str, Any]:
    """The public shape of a discrepancy (CLI JSON and pushed payloads share it)."""
    return {
        "id": row.id, "kind": row.kind, "kind_label": rules.KIND_LABELS.get(row.kind, row.kind),
        "status": row.status, "version": row.version, "ledger_no": row.ledger_no, "item_seq": row.item_seq,
        "item_no": row.item_no, "doc_refs": list(row.doc_refs), "expected_qty": _text(row.expected_qty),
        "actual_qty": _text(row.actual_qty), "delta_qty": _text(row.delta_qty), "unit": row.unit,
        "details": row.details, "first_seen": row.first_seen.isoformat(), "last_seen": row.last_seen.isoformat(),
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
    }


def _text(value) -> str | None:
    return None if value is None else format(value, "f")
