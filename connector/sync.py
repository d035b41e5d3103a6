"""The sync stage: pull batches from a WMS source and stage them, cursor in the same transaction.

Each batch is one store transaction: its movements (a changed row becomes a new revision, an
unchanged re-read is skipped by content hash), its bad rows (quarantine) and the cursor that
covers exactly those rows. A crash between batches loses nothing and repeats nothing. Reading and
writing overlap: a writer thread commits batch n while this one reads batch n + 1 (`_writer.py`),
still one transaction per batch, in read order; a run that reads more than PROCESS_MIN_ROWS (a
backfill) hands the rest to a child process instead, so the two sides use two cores
(`_writer_process.py`; the thread goes on when no child can start).

A stored cursor that cannot be valid any more (the source was restored or truncated) halts the
source: the cursor is kept, the reason is recorded, one alert is sent, and nothing is read until an
operator runs `connector sources reset`. A source without a cursor (`snapshot`) is read in full
each run; a line staged before and no longer returned is quarantined as `movement_vanished`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from connector import quarantine
from connector._columns import MovementColumns
from connector._gc import collect_young, collector_paused
from connector._staging import content_hash, latest_revisions, stage_movements  # noqa: F401 (re-exported)
from connector._writer import GrowingWriter
from connector._writer_process import ProcessBatchWriter
from connector.abc import SourceAdapter
from connector.errors import FatalSourceError
from connector.model import Batch
from connector.store.engine import Store
from connector.store.tables import quarantine as quarantine_table
from connector.store.tables import source_cursors


class SourceHalted(FatalSourceError):
    """The source is halted (cursor invalid); `new` is True on the run that found it."""

    def __init__(self, message: str, new: bool):
        super().__init__(message)
        self.new = new


def sync_source(store: Store, name: str, adapter: SourceAdapter, *, clock, log, batch_size: int,
                max_batches: int = 1_000_000, progress=None) -> dict[str, Any]:
    """Read until the source is exhausted (or max_batches); return counts, reasons quarantined."""
    stored = _checked_cursor(store, name, adapter, clock)
    counts: Counter = Counter()
    unkeyed = adapter.fetch_unkeyed()
    reasons: Counter = Counter(e.reason for e in unkeyed)
    if unkeyed:
        with store.begin() as conn:
            counts.update(stage_batch(conn, name, Batch([], unkeyed, None, True), clock.now()))
    seen: set[str] | None = None if adapter.keeps_cursor else set()
    cursor = adapter.start_cursor(stored) if adapter.keeps_cursor else None
    if progress is not None and hasattr(progress, "start"):
        progress.start(cursor)
    exhausted = False
    with collector_paused(), _writer(store, name, clock, adapter.keeps_cursor, log) as writer:
        for _ in range(max_batches):
            batch = adapter.fetch(cursor, batch_size)
            collect_young(YOUNG_LIMIT)  # new objects the reference counts did not free: cycles, maybe
            if seen is not None:
                seen.update(_line_keys(batch.movements))
                seen.update(e.line_key for e in batch.errors)
            writer.put(batch)
            reasons.update(e.reason for e in batch.errors)
            cursor, exhausted = batch.cursor, batch.exhausted
            if progress is not None:
                progress(len(batch.movements) + len(batch.errors))
            if exhausted:
                break
    counts.update(writer.counts)
    if exhausted and seen is not None:
        reasons.update(_vanished(store, name, seen, clock.now()))
    if progress is not None and hasattr(progress, "close"):
        progress.close()
    for reason, n in reasons.items():
        log.warning("source_rows_quarantined", source=name, reason=reason, rows=n)
    return {**counts, "quarantined_by_reason": dict(reasons)}


YOUNG_LIMIT = 200_000  # net new container objects before the loop collects the young generations
PROCESS_MIN_ROWS = 20_000  # a run that reads more stages the rest in a child process (a backfill)



def batch_stager(store: Store, name: str, save: bool):
    """Stages one batch per store transaction; after a batch that was all new (a backfill), the next
    is inserted without a key lookup first (`stage_movements(assume_new=True)`)."""
    all_new = [False]

    def stage(batch: Batch, now: datetime) -> Counter:
        with store.begin() as conn:
            counts = stage_batch(conn, name, batch, now, save=save, assume_new=all_new[0])
        all_new[0] = bool(batch.movements) and counts["new"] == len(batch.movements)
        return counts
    return stage


def _writer(store: Store, name: str, clock, save: bool, log) -> GrowingWriter:
    """The writer thread; a run that goes on past PROCESS_MIN_ROWS rows moves to a child process."""
    stage = batch_stager(store, name, save)
    url = store.engine.url
    spawn = None if store.is_sqlite and url.database in (None, "", ":memory:") else (
        lambda: ProcessBatchWriter(url.render_as_string(hide_password=False), store.busy_timeout, name, save, clock))
    return GrowingWriter(lambda batch: stage(batch, clock.now()), spawn, PROCESS_MIN_ROWS,
                         lambda exc: log.warning("sync_child_unavailable", source=name, error=str(exc)))


def _checked_cursor(store: Store, name: str, adapter: SourceAdapter, clock) -> dict[str, Any] | None:
    with store.read() as conn:
        row = conn.execute(select(source_cursors).where(source_cursors.c.source == name)).first()
    if row is not None and row.halted_reason:
        raise SourceHalted(f"source {name} is halted: {row.halted_reason} "
                           f"(check the WMS, then `connector sources reset {name} --confirm`)", new=False)
    stored = _decode_cursor(row.value) if row is not None and row.value else None
    problem = adapter.cursor_problem(stored)
    if problem:
        with store.begin() as conn:
            conn.execute(source_cursors.update().where(source_cursors.c.source == name)
                         .values(halted_reason=problem, updated_at=clock.now()))
        raise SourceHalted(f"source {name} halted: {problem}", new=True)
    return stored


def _vanished(store: Store, name: str, seen: set[str], now: datetime) -> Counter:
    """Lines staged before that a full pass no longer returns: reported, never silently dropped."""
    with store.begin() as conn:
        gone = [key for key, (_, digest) in latest_revisions(conn, name, None).items() if key not in seen]
        for key in gone:
            quarantine.put(conn, stage="source", source=name, ref=key, reason="movement_vanished",
                           detail="the line was staged before and the WMS no longer returns it",
                           payload={"line_key": key}, now=now)
    return Counter({"movement_vanished": len(gone)}) if gone else Counter()


def load_cursor(conn: Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(select(source_cursors.c.value).where(source_cursors.c.source == name)).first()
    return _decode_cursor(row[0]) if row and row[0] else None


def save_cursor(conn: Connection, name: str, cursor: dict[str, Any], now: datetime) -> None:
    value = _encode_cursor(cursor)
    updated = conn.execute(source_cursors.update().where(source_cursors.c.source == name)
                           .values(value=value, updated_at=now))
    if updated.rowcount == 0:
        conn.execute(source_cursors.insert().values(source=name, value=value, updated_at=now))


def reset_cursor(conn: Connection, name: str) -> bool:
    """Forget a source's cursor and halt (operator's decision): the next sync starts from the start."""
    return conn.execute(source_cursors.delete().where(source_cursors.c.source == name)).rowcount > 0


def stage_batch(conn: Connection, name: str, batch: Batch, now: datetime, save: bool = True,
                assume_new: bool = False) -> Counter:
    counts: Counter = Counter(read=len(batch.movements) + len(batch.errors))
    counts.update(stage_movements(conn, name, batch.movements, now, assume_new=assume_new))
    if batch.movements and _has_open_quarantine(conn, name):  # a row fixed at the source closes its entry
        quarantine.resolve_many(conn, stage="source", source=name, refs=_line_keys(batch.movements),
                                now=now)
    for error in batch.errors:
        quarantine.put(conn, stage="source", source=name, ref=error.line_key, reason=error.reason,
                       detail=error.detail, payload=error.raw, now=now)
        counts["quarantined"] += 1
    if save and batch.cursor is not None:
        save_cursor(conn, name, batch.cursor, now)
    return counts


def _line_keys(batch) -> list[str]:
    """The batch's line keys, without building a Movement per row when it came as columns."""
    return batch.keys if isinstance(batch, MovementColumns) else [m.line_key for m in batch]


def _has_open_quarantine(conn: Connection, name: str) -> bool:
    q = quarantine_table.c
    return conn.execute(select(q.id).where(q.stage == "source", q.source == name, q.resolved_at.is_(None))
                        .limit(1)).first() is not None


def _encode_cursor(cursor: dict[str, Any]) -> dict[str, Any]:
    """Keep the raw driver values and their type, so they bind back exactly as read."""
    return {key: _typed(value) for key, value in cursor.items()}


def _typed(value: Any) -> dict[str, Any]:
    if value is None:
        raise ValueError("a cursor value cannot be NULL")
    if isinstance(value, datetime):
        return {"t": "datetime", "v": value.isoformat()}
    if isinstance(value, (bytes, bytearray, memoryview)):  # SQL Server rowversion
        return {"t": "bytes", "v": bytes(value).hex()}
    if isinstance(value, (int, str, float)):
        return {"t": type(value).__name__, "v": value}
    return {"t": type(value).__name__, "v": str(value)}


def _decode_cursor(value: dict[str, Any]) -> dict[str, Any]:
    from decimal import Decimal

    parse = {"datetime": datetime.fromisoformat, "int": int, "str": str, "float": float, "Decimal": Decimal,
             "bytes": bytes.fromhex}
    return {k: parse.get(v["t"], str)(v["v"]) for k, v in value.items()}


def alert_halted(store: Store, name: str, message: str, *, routes: dict[str, list[str]], site: str,
                 now: datetime) -> None:
    """Queue one `alert.source_halted` (on the run that halted the source), through the Alerter:
    de-duplicated and rate-limited like every alert (connector/alerts.py)."""
    from connector import alerts

    alerts.source_halted(store, source=name, message=message, routes=routes, site=site, now=now)
