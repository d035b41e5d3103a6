"""The outbox relay's moving parts: pick due rows, send, record each outcome on its own.

Policy (RELIABILITY.md B1, B5 25-29): a message is `sent` only after the sink returned a 2xx;
a retryable failure reschedules it with jittered exponential backoff (or the receiver's
Retry-After, clamped to [1 s, 1 h]) until `max_attempts`, then holds it; a rejection holds it at
once. Held messages stay in the table, visible, and are logged at error level (the alert).
A sink that looks down, throttled or unauthorised is not tried again in the same run (a small
circuit breaker), so one bad endpoint cannot turn a batch into a hot loop of timeouts.
"""

from __future__ import annotations

import os
import random
import signal
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from connector.abc import OutboundMessage, Sink
from connector.clock import Clock
from connector.config.schema import DeliverySection
from connector.errors import RejectedSinkError, RetryableSinkError, SinkError
from connector.store.tables import outbox

if TYPE_CHECKING:
    from connector.store.engine import Store

PENDING, SENT, HELD = "pending", "sent", "held"
RETRY_AFTER_MIN_SECONDS, RETRY_AFTER_MAX_SECONDS = 1, 3600
CIRCUIT_THRESHOLD = 3  # consecutive retryable failures of one sink that end its turn this run
STOP_SINK_STATUSES = frozenset({401, 403, 410})  # credentials or endpoint gone: not per-message
CRASHPOINT_ENV = "CONNECTOR_CRASHPOINT"
ERROR_TEXT_LIMIT = 500


@dataclass(frozen=True)
class Due:
    """A due outbox row, read once; its stored bytes are what goes on the wire."""

    id: str
    sink: str
    event: str
    idempotency_key: str
    content_type: str
    body: bytes
    attempts: int

    def message(self) -> OutboundMessage:
        return OutboundMessage(id=self.id, idempotency_key=self.idempotency_key, body=self.body,
                               content_type=self.content_type, event=self.event)


def _due_filter(now: datetime):
    return (outbox.c.status == PENDING) & (outbox.c.next_attempt_at <= now)


def due_rows(store: Store, sinks: set[str], now: datetime, limit: int) -> list[Due]:
    """Oldest-due first, only for configured sinks, so unknown sinks cannot starve the rest."""
    if not sinks:
        return []
    query = (select(*(getattr(outbox.c, f) for f in Due.__dataclass_fields__))
             .where(_due_filter(now) & outbox.c.sink.in_(sorted(sinks)))
             .order_by(outbox.c.next_attempt_at, outbox.c.created_at, outbox.c.id).limit(limit))
    with store.read() as conn:
        return [Due(**row._mapping) for row in conn.execute(query)]


def report_unconfigured(store: Store, sinks: set[str], now: datetime, log: Any) -> int:
    """Log, once per run and sink, due rows whose sink is not configured; they stay pending."""
    query = (select(outbox.c.sink, func.count()).where(_due_filter(now))
             .where(outbox.c.sink.not_in(sorted(sinks))).group_by(outbox.c.sink))
    with store.read() as conn:
        counts = dict(conn.execute(query).all())
    for sink, count in sorted(counts.items()):
        log.warning("outbox.sink_not_configured", sink=sink, pending=count)
    return sum(counts.values())


def backoff_seconds(attempts: int, settings: DeliverySection, rng: random.Random) -> float:
    """Exponential from the base, capped, with "equal jitter": between half and all of the step.

    Half is fixed so a retry never comes back much sooner than planned; half is random so many
    messages failing together do not all return at the same instant.
    """
    step = settings.backoff_base_seconds * 2 ** min(max(attempts - 1, 0), 40)
    ceiling = min(settings.backoff_max_seconds, step)
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retry_delay(exc: SinkError, attempts: int, settings: DeliverySection,
                rng: random.Random) -> timedelta:
    """The receiver's Retry-After wins (clamped); otherwise our own backoff."""
    if exc.retry_after is not None:
        seconds = min(max(exc.retry_after, RETRY_AFTER_MIN_SECONDS), RETRY_AFTER_MAX_SECONDS)
    else:
        seconds = backoff_seconds(attempts, settings, rng)
    return timedelta(seconds=seconds)


def crash_point(name: str) -> None:
    """Die here, hard, when fault-injection tests ask for it (RELIABILITY.md B2)."""
    if os.environ.get(CRASHPOINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT]


@dataclass
class Run:
    """One relay pass: the outcome counts and which sinks have been given up on for now."""

    sinks: Mapping[str, Sink]
    settings: DeliverySection
    clock: Clock
    log: Any
    rng: random.Random
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("sent", "retry", "held", "deferred", "unconfigured"), 0))
    open_circuits: set[str] = field(default_factory=set)
    failures: Counter[str] = field(default_factory=Counter)

    def deliver(self, store: Store, row: Due) -> None:
        """Send one message and commit its outcome; never raises for a delivery problem."""
        if row.sink in self.open_circuits:
            self.counts["deferred"] += 1
            return
        try:
            status = self.sinks[row.sink].send(row.message())
            if not 200 <= status < 300:
                raise RetryableSinkError(f"sink reported HTTP {status} as a success", status=status)
        except RejectedSinkError as exc:
            self._held(store, row, exc)
        except SinkError as exc:
            self._retry(store, row, exc)
        except Exception as exc:  # a sink bug must not drop the message or stop the other sinks
            self.log.exception("outbox.sink_crashed", sink=row.sink, outbox_id=row.id)
            self._retry(store, row, SinkError(_error_text(exc)))
        else:
            crash_point("after_push_before_mark_sent")
            self._sent(store, row, status)

    def _sent(self, store: Store, row: Due, status: int) -> None:
        now = self.clock.now()
        _record(store, row.id, status=SENT, sent_at=now, last_status=status, last_error=None,
                attempts=row.attempts + 1)
        self.failures[row.sink] = 0
        self.counts["sent"] += 1
        self.log.info("outbox.sent", outbox_id=row.id, sink=row.sink, outbox_event=row.event,
                      status=status, attempts=row.attempts + 1)

    def _retry(self, store: Store, row: Due, exc: SinkError) -> None:
        attempts = row.attempts + 1
        if attempts >= self.settings.max_attempts:
            self._held(store, row, exc, reason="max_attempts")
            return
        due = self.clock.now() + retry_delay(exc, attempts, self.settings, self.rng)
        _record(store, row.id, attempts=attempts, next_attempt_at=due, last_status=exc.status,
                last_error=_error_text(exc))
        self.counts["retry"] += 1
        self.log.warning("outbox.retry", outbox_id=row.id, sink=row.sink, outbox_event=row.event,
                         attempts=attempts, status=exc.status, error=str(exc),
                         next_attempt_at=due.isoformat())
        self.failures[row.sink] += 1
        self._maybe_open(row.sink, exc)

    def _held(self, store: Store, row: Due, exc: SinkError, reason: str = "rejected") -> None:
        _record(store, row.id, status=HELD, attempts=row.attempts + 1, last_status=exc.status,
                last_error=_error_text(exc))
        self.counts["held"] += 1
        self.log.error("outbox.held", outbox_id=row.id, sink=row.sink, outbox_event=row.event,
                       reason=reason, attempts=row.attempts + 1, status=exc.status, error=str(exc))
        self._maybe_open(row.sink, exc)

    def _maybe_open(self, sink: str, exc: SinkError) -> None:
        """Stop trying a sink this run when the failure is about the endpoint, not the message."""
        if isinstance(exc, RejectedSinkError):
            tripped = exc.status in STOP_SINK_STATUSES
        else:
            tripped = (exc.status in (None, 429) or exc.retry_after is not None
                       or self.failures[sink] >= CIRCUIT_THRESHOLD)
        if tripped and sink not in self.open_circuits:
            self.open_circuits.add(sink)
            self.log.warning("outbox.circuit_open", sink=sink, status=exc.status)


def _record(store: Store, row_id: str, **values: Any) -> None:
    """Commit one outcome in its own short transaction, only if nobody changed the row's state."""
    with store.begin() as conn:
        conn.execute(update(outbox).where((outbox.c.id == row_id) & (outbox.c.status == PENDING))
                     .values(**values))
