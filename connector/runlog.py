"""The run log: one row per job run, hash-chained so that an edited or removed row can be detected.

Why: the run log is audit evidence of when the connector ran and what it did. Each row stores
`hash = sha256(prev_hash + canonical_json)`, where `prev_hash` is the previous row's hash ("0"*64 for
the first row) and `canonical_json` is `json.dumps({"counts", "finished_at", "job", "started_at",
"status"}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`, with times written as UTC ISO-8601
with microseconds (`2024-03-04T01:15:00.000000+00:00`, the same text the store keeps). An auditor can
recompute the chain with any tool.

It is tamper-evident, not tamper-proof. Someone with write access can rewrite the whole chain, and
dropping the newest rows leaves no broken link. Anchoring the latest hash outside this store (for
example by sending it with pushes) closes that gap.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select

from connector.store.tables import run_log

GENESIS = "0" * 64


def record(
    conn: Connection, job: str, started_at: datetime, finished_at: datetime, status: str, counts: dict
) -> str:
    """Append one run to the chain inside the caller's write transaction; return the new row's hash."""
    if not job or not status:
        raise ValueError("a run needs a job name and a status")
    counts = json.loads(_dumps(counts))  # store exactly what was hashed (tuples -> lists, int keys -> str)
    _lock(conn)
    prev_hash = conn.execute(select(run_log.c.hash).order_by(run_log.c.id.desc()).limit(1)).scalar()
    prev_hash = prev_hash or GENESIS
    digest = chain_hash(prev_hash, job, started_at, finished_at, status, counts)
    conn.execute(insert(run_log).values(
        job=job, started_at=started_at, finished_at=finished_at, status=status,
        counts=counts, prev_hash=prev_hash, hash=digest,
    ))
    return digest


def verify(conn: Connection) -> list[str]:
    """Walk the chain oldest first and return one line per problem; an intact chain gives []."""
    problems: list[str] = []
    expected_prev, prev_id = GENESIS, None
    for row in conn.execute(select(run_log).order_by(run_log.c.id)):
        if row.prev_hash != expected_prev:
            after = f"row {prev_id}" if prev_id is not None else "the start of the log"
            problems.append(f"run_log row {row.id}: does not link to {after} (a row was removed, "
                            "inserted or re-hashed)")
        actual = chain_hash(row.prev_hash, row.job, row.started_at, row.finished_at, row.status, row.counts)
        if actual != row.hash:
            problems.append(f"run_log row {row.id}: content does not match its hash (the row was altered)")
        expected_prev, prev_id = row.hash, row.id
    return problems


def latest(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest runs first, as plain dicts for `connector status`."""
    rows = conn.execute(select(run_log).order_by(run_log.c.id.desc()).limit(limit))
    return [dict(row._mapping) for row in rows]


def chain_hash(
    prev_hash: str, job: str, started_at: datetime, finished_at: datetime, status: str, counts: Any
) -> str:
    """sha256 over the previous hash and the row's canonical JSON (recipe in the module docstring)."""
    body = {
        "counts": counts,
        "finished_at": _utc_text(finished_at),
        "job": job,
        "started_at": _utc_text(started_at),
        "status": status,
    }
    return hashlib.sha256((prev_hash + _dumps(body)).encode("utf-8")).hexdigest()


def _dumps(value: Any) -> str:
    """Canonical JSON. NaN is refused because the JSON column could not store it and read it back."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_json_default)


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        if value.is_finite():
            return str(value)
        raise ValueError("run counts must be finite")
    raise TypeError(f"run counts must be JSON data or Decimal, got {type(value).__name__}")


def _utc_text(at: datetime) -> str:
    """The same text `AwareDateTime` stores, so a row read back hashes the same as when it was written."""
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise ValueError("run times must be timezone-aware datetimes")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _lock(conn: Connection) -> None:
    """Serialise appends: two writers reading the same tail would fork the chain.

    SQLite writers already hold the database write lock (`BEGIN IMMEDIATE`). On PostgreSQL a row lock
    on the tail is not enough, because the second writer would re-read the same tail, so the table is locked.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE run_log IN SHARE ROW EXCLUSIVE MODE")
