"""Staging movement revisions in the state store: content hash, latest revision, batched inserts.

A line whose content hash equals its latest revision's is skipped (an overlap re-read or a re-run
is free); any other becomes revision n + 1. This is the hot path of a backfill, so it talks to the
driver directly: one lookup of the batch's latest revisions (the keys travel as one JSON array on
SQLite, one array on PostgreSQL) and one executemany of plain tuples, each value written exactly
as the store's column types write it (`connector/store/types.py`: quantities as canonical decimal
text, times as UTC ISO text with microseconds, `extra` as JSON text or NULL).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from hashlib import sha256
from json.encoder import (
    encode_basestring,  # what json.dumps(..., ensure_ascii=False) uses for a str
)
from operator import attrgetter, methodcaller

from sqlalchemy import Connection, func, select

from connector.model import Movement
from connector.store.tables import movements

CHUNK = 500
HASH_FORMAT = "[{}, {}, {}, {}, {}, {}, {}, {}]".format  # json.dumps' list layout (", " between items)
ISO_MICRO = methodcaller("isoformat", timespec="microseconds")
COLUMNS = ("source", "line_key", "revision", "content_hash", "sku", "qty", "uom", "movement_type", "doc_ref", "lot",
           "location", "occurred_at", "changed_at", "extra", "staged_at", "ledger_state")


def stage_movements(conn: Connection, name: str, batch: list[Movement], now: datetime) -> Counter:
    """Insert a new revision for each line whose content changed: 'new', 'revised' or 'unchanged'."""
    if not batch:
        return Counter()
    keys = [m.line_key for m in batch]
    latest = latest_revisions(conn, name, set(keys))
    digests = content_hashes(batch)
    if not latest and len(set(keys)) == len(keys):  # a backfill's batch: every line is new
        _insert(conn, _rows(batch, [1] * len(batch), digests, _utc_text(now)))
        return Counter(new=len(batch))
    counts: Counter = Counter()
    keep, revisions = [], []
    for i, (key, digest) in enumerate(zip(keys, digests)):
        revision, previous = latest.get(key, (0, None))
        if previous == digest:
            counts["unchanged"] += 1
            continue
        latest[key] = (revision + 1, digest)
        keep.append(i)
        revisions.append(revision + 1)
        counts["revised" if revision else "new"] += 1
    if keep:
        _insert(conn, _rows([batch[i] for i in keep], revisions, [digests[i] for i in keep], _utc_text(now)))
    return counts


def _insert(conn: Connection, rows: list[tuple]) -> None:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    values = ", ".join(f"CAST({mark} AS JSON)" if c == "extra" and conn.dialect.name == "postgresql" else mark
                       for c in COLUMNS)
    conn.exec_driver_sql(f"INSERT INTO movements ({', '.join(COLUMNS)}) VALUES ({values})", rows)


def latest_revisions(conn: Connection, name: str, keys: set[str] | None) -> dict[str, tuple[int, str]]:
    """line_key -> (latest revision, its content hash), for the given keys (None: every line)."""
    if keys is None:
        return _all_latest(conn, name)
    found: dict[str, tuple[int, str]] = {}
    for key, revision, digest in _revisions_of(conn, name, sorted(keys)):
        if revision > found.get(key, (0, ""))[0]:
            found[key] = (revision, digest)
    return found


def _revisions_of(conn: Connection, name: str, keys: list[str]):
    head = "SELECT line_key, revision, content_hash FROM movements WHERE source = "
    if conn.dialect.name == "sqlite":
        return conn.exec_driver_sql(head + "? AND line_key IN (SELECT value FROM json_each(?))",
                                    (name, json.dumps(keys))).fetchall()
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql(head + "%s AND line_key = ANY(%s)", (name, keys)).fetchall()
    found = []
    for start in range(0, len(keys), CHUNK):
        found += conn.execute(select(movements.c.line_key, movements.c.revision, movements.c.content_hash).where(
            movements.c.source == name, movements.c.line_key.in_(keys[start:start + CHUNK]))).fetchall()
    return found


def _all_latest(conn: Connection, name: str) -> dict[str, tuple[int, str]]:
    m = movements.c
    newest = (select(m.line_key, func.max(m.revision).label("revision"))
              .where(m.source == name).group_by(m.line_key).subquery())
    query = (select(m.line_key, m.revision, m.content_hash)
             .join_from(movements, newest, (m.line_key == newest.c.line_key) & (m.revision == newest.c.revision))
             .where(m.source == name))
    return {key: (revision, digest) for key, revision, digest in conn.execute(query)}


def _rows(batch: list[Movement], revisions: list[int], digests: list[str], staged: str) -> list[tuple]:
    """The insert tuples (COLUMNS order), built column by column."""
    column = {f: list(map(attrgetter(f), batch)) for f in ("source", "line_key", "sku", "uom", "movement_type",
                                                            "doc_ref", "lot", "location")}
    qty = list(map(qty_text, map(attrgetter("qty"), batch)))
    times = [_utc_texts(list(map(attrgetter(f), batch))) for f in ("occurred_at", "changed_at")]
    extra = [json.dumps(m.extra) if m.extra else None for m in batch]
    n = len(batch)
    return list(zip(column["source"], column["line_key"], revisions, digests, column["sku"], qty, column["uom"],
                    column["movement_type"], column["doc_ref"], column["lot"], column["location"], *times, extra,
                    [staged] * n, ["pending"] * n))


def _utc_texts(values: list[datetime]) -> list[str]:
    if set(map(attrgetter("tzinfo"), values)) == {UTC}:
        return list(map(ISO_MICRO, values))
    return list(map(_utc_text, values))


def qty_text(value: Decimal) -> str:
    """A quantity exactly as DecimalText stores it."""
    if not value.is_finite():
        raise ValueError(f"quantity must be finite, got {value}")
    return format(value.normalize() if value != 0 else Decimal(0), "f")


def _utc_text(value: datetime) -> str:
    """A time exactly as AwareDateTime stores it."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def content_hash(movement: Movement) -> str:
    """What makes a revision: every business field, not the change timestamp.

    The SHA-256 of the JSON list `json.dumps([sku, qty, uom, type, doc_ref, lot, location, occurred_at],
    ensure_ascii=False)`, built here without the encoder object (the same bytes, a fraction of the time)."""
    return content_hashes([movement])[0]


def content_hashes(batch: list[Movement]) -> list[str]:
    """content_hash of each movement, column by column."""
    texts = [list(map(_json_text, map(attrgetter(f), batch))) for f in ("sku", "uom", "movement_type", "doc_ref",
                                                                         "lot", "location")]
    qty = [encode_basestring(str(m.qty.normalize())) for m in batch]
    occurred = [encode_basestring(m.occurred_at.isoformat()) for m in batch]
    sku, uom, mtype, doc, lot, loc = texts
    lists = map(HASH_FORMAT, sku, qty, uom, mtype, doc, lot, loc, occurred)
    return [sha256(text.encode()).hexdigest() for text in lists]


def _json_text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)
