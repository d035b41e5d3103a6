"""The transactional outbox: what must be delivered is written with the data that caused it.

`enqueue` runs inside the caller's own write transaction (the comparator inserts a discrepancy
and its outbox rows together), so a message exists if and only if its cause was committed. The
payload is serialised once, to canonical JSON bytes, and those exact bytes and the same key are
re-sent on every attempt (RELIABILITY.md B1: at-least-once delivery with idempotent effects).

`relay` delivers due rows. It never holds a write transaction open during HTTP: it reads a batch,
sends each message, and commits each outcome in its own short transaction.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import Connection, insert, select

from connector import _relay
from connector.abc import Sink
from connector.clock import Clock
from connector.config.schema import DeliverySection
from connector.store.tables import outbox

if TYPE_CHECKING:
    from connector.store.engine import Store

__all__ = ["CONTENT_TYPE", "canonical_json", "enqueue", "message_id", "relay"]

CONTENT_TYPE = "application/json; charset=utf-8"
PENDING = _relay.PENDING


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """The one serialisation of a payload: sorted keys, UTF-8, Decimal as exact text, no floats.

    Canonical so that the same logical payload always gives the same bytes; floats are refused
    because a binary float cannot carry a customs quantity exactly.
    """
    text = json.dumps(_plain(payload), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def _plain(value: Any) -> Any:
    """Convert to JSON-native values, refusing anything that would not round-trip exactly."""
    if isinstance(value, Mapping):
        return {_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        raise TypeError("a float cannot go into a message; use Decimal")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"a non-finite Decimal cannot go into a message: {value}")
        return format(value, "f")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot go into a message")
        return value.isoformat()
    if isinstance(value, (date, UUID)):
        return str(value)
    if isinstance(value, Enum):
        return _scalar(value.value)
    raise TypeError(f"{type(value).__name__} cannot go into a message")


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"message keys must be str, got {type(key).__name__}")
    return key


def message_id(sink: str, event: str, key: str) -> str:
    """Deterministic id (and idempotency key): the same cause enqueued twice is one message."""
    material = "\x1f".join(("outbox/v1", sink, event, key)).encode("utf-8")
    return hashlib.sha256(material).hexdigest()


def enqueue(conn: Connection, *, sink: str, event: str, key: str, discrepancy_id: str | None,
            payload: Mapping[str, Any], now: datetime, content_type: str = CONTENT_TYPE) -> str:
    """Add a pending message in the caller's transaction; return its id.

    `key` must identify the cause exactly (e.g. discrepancy id and version). Enqueuing the same
    (sink, event, key) again is a no-op that keeps the first stored bytes, so a key is never
    re-used with a different body (the IETF Idempotency-Key draft's 422 case).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    mid = message_id(sink, event, key)
    body = canonical_json(payload)
    if conn.execute(select(outbox.c.id).where(outbox.c.id == mid)).first() is not None:
        return mid
    conn.execute(_insert_ignoring_duplicate(conn, dict(
        id=mid, sink=sink, event=event, discrepancy_id=discrepancy_id, idempotency_key=mid,
        content_type=content_type, body=body, status=PENDING, attempts=0,
        next_attempt_at=now, created_at=now)))
    return mid


def _insert_ignoring_duplicate(conn: Connection, row: dict[str, Any]):
    """INSERT that leaves an existing row alone, in the dialect's own words (race-safe)."""
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        return insert(outbox).values(**row)
    return dialect_insert(outbox).values(**row).on_conflict_do_nothing(index_elements=["id"])


def relay(store: Store, sinks: Mapping[str, Sink], settings: DeliverySection, clock: Clock,
          log: Any, *, rng: random.Random | None = None) -> dict[str, int]:
    """Deliver the due pending messages once; return counts by outcome.

    Counts: `sent`, `retry` (rescheduled), `held` (needs an operator), `deferred` (left due
    because its sink's circuit opened in this run) and `unconfigured` (rows for unknown sinks).
    """
    run = _relay.Run(sinks=sinks, settings=settings, clock=clock, log=log, rng=rng or random.Random())
    run.counts["unconfigured"] = _relay.report_unconfigured(store, set(sinks), clock.now(), log)
    for row in _relay.due_rows(store, set(sinks), clock.now(), settings.batch_size):
        run.deliver(store, row)
    return run.counts
