"""The transactional outbox: what must be delivered is written with the data that caused it.

`enqueue` runs inside the caller's own write transaction (the comparator inserts a discrepancy
and its outbox rows together), so a message exists if and only if its cause was committed. The
payload is serialised once, to canonical JSON bytes, and those exact bytes and the same key are
re-sent on every attempt (RELIABILITY.md B1: at-least-once delivery with idempotent effects).

`relay` delivers due rows. It never holds a write transaction open during HTTP: it reads a batch,
sends each message, and commits each outcome in its own short transaction. Nothing is ever
deleted: a message ends `sent`, or stays `pending`/`dead` until `connector outbox retry`.
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

from sqlalchemy import Connection, insert, select, update

from connector import _circuit, _relay
from connector.abc import Sink
from connector.clock import Clock
from connector.config.schema import DeliverySection
from connector.store.tables import outbox

if TYPE_CHECKING:
    from connector.alerts import Alerter
    from connector.store.engine import Store

__all__ = ["CONTENT_TYPE", "canonical_json", "enqueue", "list_messages", "message_id", "relay", "retry"]

CONTENT_TYPE = "application/json; charset=utf-8"
PENDING, SENT, DEAD = _relay.PENDING, _relay.SENT, _relay.DEAD


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
            payload: Mapping[str, Any], now: datetime, content_type: str = CONTENT_TYPE,
            seq: int | None = None) -> str:
    """Add a pending message in the caller's transaction; return its id.

    `key` must identify the cause exactly (e.g. discrepancy id and version). Enqueuing the same
    (sink, event, key) again is a no-op that keeps the first stored bytes, so a key is never
    re-used with a different body (the IETF Idempotency-Key draft's 422 case). `seq` orders the
    messages of one discrepancy (its version): a higher one waits until the lower ones are sent.
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
        next_attempt_at=now, created_at=now, seq=seq)))
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
          log: Any, *, rng: random.Random | None = None, alerter: Alerter | None = None) -> dict[str, int]:
    """Deliver the due pending messages once; return counts by outcome.

    Counts: `sent`, `retry` (rescheduled), `dead` (needs an operator), `deferred` (left due because
    its sink's circuit opened in this run), `paused` (the sink was stopped or disabled by this
    message's answer) and `unconfigured` (rows for unknown sinks).
    """
    rng = rng or random.Random()
    now = clock.now()
    with store.read() as conn:
        circuits = _circuit.Circuits(conn, settings, rng, log)
    run = _relay.Run(sinks=sinks, settings=settings, clock=clock, log=log, rng=rng, circuits=circuits,
                     alerter=alerter)
    run.counts["unconfigured"] = _relay.report_unconfigured(store, set(sinks), now, log)
    usable = {s for s in sinks if circuits.allows(s, now)}
    for sink in sorted(set(sinks) - usable):
        breaker = circuits.get(sink)
        log.info("outbox.sink_paused", sink=sink, state=breaker.state,
                 until=breaker.open_until.isoformat() if breaker.open_until else None)
    for row in _relay.due_rows(store, usable, now, settings.batch_size):
        run.deliver(store, row)
    return run.counts


LIST_COLUMNS = ("id", "sink", "event", "discrepancy_id", "seq", "status", "attempts", "next_attempt_at",
                "last_status", "last_error", "created_at", "sent_at")


def list_messages(store: Store, *, status: str | None = None, sink: str | None = None,
                  limit: int = 100) -> list[dict[str, Any]]:
    """Outbox rows without their bodies, oldest first (`connector outbox list`)."""
    query = select(*(getattr(outbox.c, c) for c in LIST_COLUMNS))
    if status:
        query = query.where(outbox.c.status == status)
    if sink:
        query = query.where(outbox.c.sink == sink)
    query = query.order_by(outbox.c.created_at, outbox.c.sink, outbox.c.seq, outbox.c.id).limit(limit)
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def retry(store: Store, now: datetime, *, ids: list[str] = (), sink: str | None = None) -> dict[str, int]:
    """Re-queue dead messages (by id, or all of a sink, or all) with a fresh attempt budget.

    The stored bytes and key are kept. With `sink`, that sink's circuit is closed too (the
    operator fixed its credentials or url); its pending messages become due now.
    """
    query = update(outbox).where(outbox.c.status == DEAD)
    if ids:
        query = query.where(outbox.c.id.in_(list(ids)))
    if sink:
        query = query.where(outbox.c.sink == sink)
    with store.begin() as conn:
        requeued = conn.execute(query.values(status=PENDING, attempts=0, next_attempt_at=now)).rowcount or 0
        reset = _circuit.reset(conn, sink) if sink or not ids else 0
        if sink:
            conn.execute(update(outbox).where((outbox.c.status == PENDING) & (outbox.c.sink == sink)
                                              & (outbox.c.next_attempt_at > now)).values(next_attempt_at=now))
    return {"requeued": requeued, "circuits_closed": reset}
