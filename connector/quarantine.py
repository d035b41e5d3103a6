"""The quarantine: rows and files that could not be used, each with its reason. Nothing is dropped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from connector.store.tables import quarantine


def put(conn: Connection, *, stage: str, source: str, ref: str, reason: str, detail: str,
        payload: dict[str, Any] | None, now: datetime) -> bool:
    """Record one unusable row or file; an identical open entry is not repeated. True if new."""
    open_same = select(quarantine.c.id).where(and_(
        quarantine.c.stage == stage, quarantine.c.source == source, quarantine.c.ref == ref,
        quarantine.c.reason == reason, quarantine.c.resolved_at.is_(None)))
    if conn.execute(open_same).first():
        return False
    conn.execute(quarantine.insert().values(
        stage=stage, source=source, ref=ref, reason=reason, detail=detail, payload=payload, created_at=now))
    return True


def resolve(conn: Connection, *, stage: str, source: str, ref: str, now: datetime) -> None:
    """The row is usable now (fixed at the source or by a mapping change): close its entries."""
    conn.execute(update(quarantine).where(and_(
        quarantine.c.stage == stage, quarantine.c.source == source, quarantine.c.ref == ref,
        quarantine.c.resolved_at.is_(None))).values(resolved_at=now))


def resolve_many(conn: Connection, *, stage: str, source: str, refs: list[str], now: datetime) -> None:
    """`resolve` for a whole batch, in chunks (one statement per 500 refs)."""
    for start in range(0, len(refs), 500):
        conn.execute(update(quarantine).where(and_(
            quarantine.c.stage == stage, quarantine.c.source == source, quarantine.c.resolved_at.is_(None),
            quarantine.c.ref.in_(refs[start:start + 500]))).values(resolved_at=now))


def open_counts(conn: Connection) -> list[dict[str, Any]]:
    """Open entries per (stage, source, reason), for `connector status` and alerts."""
    q = (select(quarantine.c.stage, quarantine.c.source, quarantine.c.reason, func.count().label("n"))
         .where(quarantine.c.resolved_at.is_(None))
         .group_by(quarantine.c.stage, quarantine.c.source, quarantine.c.reason))
    return [dict(r._mapping) for r in conn.execute(q)]


def open_entries(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    q = (select(quarantine).where(quarantine.c.resolved_at.is_(None))
         .order_by(quarantine.c.id).limit(limit))
    return [dict(r._mapping) for r in conn.execute(q)]
