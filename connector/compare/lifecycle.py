"""The discrepancy life cycle: open → (updated: a new version) → resolved, and acknowledged.

A new finding is `open` (version 1); a changed one bumps the version (event `updated`) and clears
an acknowledgement; one the rules no longer produce (and do not hold back as in flight) becomes
`resolved`; a resolved one found again is re-opened. `acknowledged` (with a reason) is an open
discrepancy someone has looked at: it stays so while its figures do not change. Each event and its
outbox rows are written in the caller's transaction.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from connector import outbox
from connector.model import Discrepancy
from connector.store.tables import discrepancies as D

LIVE = ("open", "acknowledged")
_HASH_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str).encode  # = json.dumps(…, same options)


def content_hash(d: Discrepancy) -> str:
    """What makes a new version: the figures and references, not the times in the details
    (a later copy of the same ledger state is not news) nor the evidence row list."""
    details = {k: v for k, v in d.details.items() if not k.endswith(("_at", "_as_of")) and k != "evidence"}
    fields = [d.kind, d.ledger_no, d.item_seq, d.item_no, list(d.doc_refs), str(d.expected_qty),
              str(d.actual_qty), str(d.delta_qty), d.unit, details]
    return hashlib.sha256(_HASH_JSON(fields).encode()).hexdigest()


VALUE_COLUMNS = ("kind", "ledger_no", "item_seq", "item_no", "doc_refs", "expected_qty", "actual_qty", "delta_qty",
                 "unit", "details", "content_hash", "last_seen", "unit_key", "evidence")  # what a finding sets
NEW_COLUMNS = ("id", "status", "version", "first_seen", "resolved_at", "ack_reason", "acked_at", *VALUE_COLUMNS)


def _value_tuple(d: Discrepancy, unit_key: str, now: datetime) -> tuple:
    details = {k: v for k, v in d.details.items() if k != "evidence"}
    return (d.kind, d.ledger_no, d.item_seq, d.item_no, list(d.doc_refs), d.expected_qty, d.actual_qty, d.delta_qty,
            d.unit, details, content_hash(d), now, unit_key, d.details.get("evidence", []))


def _values(d: Discrepancy, unit_key: str, now: datetime) -> dict[str, Any]:
    return dict(zip(VALUE_COLUMNS, _value_tuple(d, unit_key, now), strict=True))


def new_values(d: Discrepancy, unit_key: str, now: datetime) -> tuple:
    """The row of a first finding (`open`, version 1) in NEW_COLUMNS order: a rebuild may insert tens
    of thousands, and builds no dictionary for each."""
    return (d.id, "open", 1, now, None, None, None, *_value_tuple(d, unit_key, now))


def new_row(d: Discrepancy, unit_key: str, now: datetime) -> dict[str, Any]:
    """The row of a first finding (`open`, version 1); the caller inserts many in one statement."""
    return dict(zip(NEW_COLUMNS, new_values(d, unit_key, now), strict=True))


def upsert(conn: Connection, d: Discrepancy, unit_key: str, row: Any, now: datetime) -> str | None:
    """Write one finding; returns the event it makes (opened / updated) or None when unchanged."""
    if row is None:
        conn.execute(D.insert().values(**new_row(d, unit_key, now)))
        return "opened"
    values = _values(d, unit_key, now)  # the content hash once, only for an existing row
    if row.status in LIVE and row.content_hash == values["content_hash"]:
        if row.unit_key != unit_key or row.evidence != values["evidence"]:
            conn.execute(D.update().where(D.c.id == d.id).values(unit_key=unit_key, evidence=values["evidence"]))
        return None
    event = "updated" if row.status in LIVE else "opened"
    conn.execute(D.update().where(D.c.id == d.id).values(
        status="open", version=row.version + 1, resolved_at=None, ack_reason=None, acked_at=None, **values))
    return event


def resolve(conn: Connection, row: Any, now: datetime) -> None:
    conn.execute(D.update().where(D.c.id == row.id)
                 .values(status="resolved", version=row.version + 1, resolved_at=now, last_seen=now))


def acknowledge(conn: Connection, did: str, reason: str, now: datetime) -> Any:
    """Mark a live discrepancy acknowledged with a reason; returns the row, or None if not live."""
    row = conn.execute(select(D).where(D.c.id == did)).one_or_none()
    if row is None or row.status not in LIVE:
        return None
    conn.execute(D.update().where(D.c.id == did).values(
        status="acknowledged", version=row.version + 1, ack_reason=reason, acked_at=now))
    return conn.execute(select(D).where(D.c.id == did)).one()


def queue(conn: Connection, event: str, did: str, now: datetime, routes: dict[str, list[str]], site: str) -> None:
    queue_many(conn, [(event, did)], now, routes, site)


def queue_many(conn: Connection, events: list[tuple[str, str]], now: datetime, routes: dict[str, list[str]],
               site: str) -> None:
    """Outbox rows for (event, discrepancy id) pairs, one per matching route, payload = the stored row."""
    from connector.compare.engine import as_dict
    from connector.compare.load import chunks

    wanted = [(e, did, [s for s, p in routes.items() if any(fnmatch.fnmatchcase(f"discrepancy.{e}", x) for x in p)])
              for e, did in events]
    wanted = [w for w in wanted if w[2]]
    rows = {r.id: r for part in chunks({did for _, did, _ in wanted})
            for r in conn.execute(select(D).where(D.c.id.in_(part)))}
    for event, did, sinks in wanted:
        row, name = rows[did], f"discrepancy.{event}"
        payload = {"site": site, "event": name, "discrepancy": as_dict(row)}
        for sink in sinks:
            outbox.enqueue(conn, sink=sink, event=name, key=f"{did}:{row.version}:{name}", discrepancy_id=did,
                           payload=payload, now=now, seq=row.version)
