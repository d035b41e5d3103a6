"""The outbox relay's moving parts: pick due rows in order, send, record each outcome on its own.

Policy (RELIABILITY.md B1, B5 25-31): a message is `sent` only after the sink returned a real
success. A retryable failure reschedules it with jittered exponential backoff (or the receiver's
Retry-After, clamped to [1 s, 1 h]) until `max_attempts`, then it is `dead`: kept, visible in
`connector outbox list`, alerted. A rejection (400, 404, 422, ...) makes it dead at once; 422 means
the key was reused with another body, which is our bug. 401/403 stop the sink and 410 disables it
(connector/_circuit.py); their messages stay pending. Per discrepancy, a message is never sent
while an earlier one of the same item to the same sink is undelivered (an update never overtakes
its open), so a dead message stops its item until an operator re-queues it.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, exists, func, select, update

from connector._circuit import Circuits, backoff_seconds, clamp_retry_after
from connector.abc import OutboundMessage, Sink
from connector.clock import Clock
from connector.config.schema import DeliverySection
from connector.errors import RejectedSinkError, RetryableSinkError, SinkError
from connector.store.tables import outbox

if TYPE_CHECKING:
    from connector.alerts import Alerter
    from connector.store.engine import Store

PENDING, SENT, DEAD = "pending", "sent", "dead"
STOP_STATUSES, GONE_STATUS = frozenset({401, 403}), 410
MESSAGE_LEVEL_STATUSES = frozenset({409})  # the message's key is busy; the endpoint is fine
CRASHPOINT_ENV = "CONNECTOR_CRASHPOINT"
ERROR_TEXT_LIMIT = 500
COUNTS = ("sent", "retry", "dead", "deferred", "paused", "unconfigured")


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


def _no_earlier_undelivered():
    """No row of the same sink and discrepancy with a lower seq is still unsent (pending or dead)."""
    prior = outbox.alias("prior")
    return ~exists(select(prior.c.id).where(and_(
        prior.c.sink == outbox.c.sink, prior.c.discrepancy_id == outbox.c.discrepancy_id,
        prior.c.seq < outbox.c.seq, prior.c.status != SENT)))


def due_rows(store: Store, sinks: set[str], now: datetime, limit: int) -> list[Due]:
    """Oldest-due first, only for the given sinks and only rows whose predecessors were sent."""
    if not sinks:
        return []
    query = (select(*(getattr(outbox.c, f) for f in Due.__dataclass_fields__))
             .where(_due_filter(now) & outbox.c.sink.in_(sorted(sinks)) & _no_earlier_undelivered())
             .order_by(outbox.c.next_attempt_at, outbox.c.created_at, outbox.c.seq, outbox.c.id).limit(limit))
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


def retry_delay(exc: SinkError, attempts: int, settings: DeliverySection, rng: random.Random) -> timedelta:
    """The receiver's Retry-After wins (clamped); otherwise our own backoff."""
    if exc.retry_after is not None:
        return timedelta(seconds=clamp_retry_after(exc.retry_after))
    return timedelta(seconds=backoff_seconds(attempts, settings, rng))


def crash_point(name: str) -> None:
    """Die here, hard, when fault-injection tests ask for it (RELIABILITY.md B2)."""
    if os.environ.get(CRASHPOINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT]


@dataclass
class Run:
    """One relay pass: outcome counts; breakers and alerts are written with each outcome."""

    sinks: Mapping[str, Sink]
    settings: DeliverySection
    clock: Clock
    log: Any
    rng: random.Random
    circuits: Circuits
    alerter: Alerter | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))

    def deliver(self, store: Store, row: Due) -> None:
        """Send one message and commit its outcome; never raises for a delivery problem."""
        if not self.circuits.allows(row.sink, self.clock.now()):
            self.counts["deferred"] += 1
            return
        try:
            status = self.sinks[row.sink].send(row.message())
            if not 200 <= status < 300:
                raise RetryableSinkError(f"sink reported HTTP {status} as a success", status=status)
        except RejectedSinkError as exc:
            self._rejected(store, row, exc)
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
        with store.begin() as conn:
            _record(conn, row.id, status=SENT, sent_at=now, last_status=status, last_error=None,
                    attempts=row.attempts + 1)
            self.circuits.success(conn, row.sink, now)
        self.counts["sent"] += 1
        self.log.info("outbox.sent", outbox_id=row.id, sink=row.sink, outbox_event=row.event,
                      status=status, attempts=row.attempts + 1)

    def _rejected(self, store: Store, row: Due, exc: RejectedSinkError) -> None:
        if exc.status in STOP_STATUSES or exc.status == GONE_STATUS:
            self._pause_sink(store, row, exc)
        else:
            self._dead(store, row, exc, "rejected")

    def _retry(self, store: Store, row: Due, exc: SinkError) -> None:
        attempts, now = row.attempts + 1, self.clock.now()
        if attempts >= self.settings.max_attempts:
            self._dead(store, row, exc, "max_attempts")
            return
        due = now + retry_delay(exc, attempts, self.settings, self.rng)
        with store.begin() as conn:
            _record(conn, row.id, attempts=attempts, next_attempt_at=due, last_status=exc.status,
                    last_error=_error_text(exc))
            self._endpoint_failure(conn, row, exc, now)
            self._alert_advice(conn, row.sink, exc, now)
        self.counts["retry"] += 1
        self.log.warning("outbox.retry", outbox_id=row.id, sink=row.sink, outbox_event=row.event,
                         attempts=attempts, status=exc.status, error=str(exc), next_attempt_at=due.isoformat())

    def _endpoint_failure(self, conn: Connection, row: Due, exc: SinkError, now: datetime) -> None:
        """Failures about the endpoint (no answer, 3xx, 429, 5xx) feed the breaker; 409 does not."""
        message_level = exc.status in MESSAGE_LEVEL_STATUSES or (exc.status or 0) // 100 == 2
        if not message_level:
            self.circuits.failure(conn, row.sink, exc, now)

    def _dead(self, store: Store, row: Due, exc: SinkError, reason: str) -> None:
        now = self.clock.now()
        with store.begin() as conn:
            _record(conn, row.id, status=DEAD, attempts=row.attempts + 1, last_status=exc.status,
                    last_error=_error_text(exc))
            if reason == "max_attempts":
                self._endpoint_failure(conn, row, exc, now)
                self._alert_advice(conn, row.sink, exc, now)
            self._alert_dead(conn, row, exc, reason, now)
        self.counts["dead"] += 1
        self.log.error("outbox.dead", outbox_id=row.id, sink=row.sink, outbox_event=row.event,
                       reason=reason, attempts=row.attempts + 1, status=exc.status, error=str(exc))

    def _pause_sink(self, store: Store, row: Due, exc: RejectedSinkError) -> None:
        """401/403/410: the endpoint, not the message. The message stays pending, attempts unchanged."""
        now, gone = self.clock.now(), exc.status == GONE_STATUS
        with store.begin() as conn:
            _record(conn, row.id, last_status=exc.status, last_error=_error_text(exc))
            self.circuits.stop(conn, row.sink, exc, now, disable=gone)
            self._alert_sink(conn, row.sink, exc, gone, now)
        self.counts["paused"] += 1
        self.log.error("outbox.sink_disabled" if gone else "outbox.sink_stopped", sink=row.sink,
                       outbox_id=row.id, status=exc.status, error=str(exc))

    def _alert_dead(self, conn: Connection, row: Due, exc: SinkError, reason: str, now: datetime) -> None:
        if self.alerter is None or row.event.startswith("alert."):
            return  # an undeliverable alert is logged (above), not alerted about in a loop
        action = (f"The receiver refused it (HTTP {exc.status}); 422 means the key was reused with another "
                  "body, which is a connector bug: report it. " if reason == "rejected" else
                  "Check the receiver and the last error. ") + \
                 f"Then re-queue: `connector outbox retry {row.id}`. Later messages of the same item wait for it."
        self.alerter.queue(conn, kind="delivery_dead", subject=row.id, now=now, exclude=[row.sink], action=action,
                           summary=f"message {row.event} to {row.sink} is dead ({reason})",
                           detail={"sink": row.sink, "outbox_id": row.id, "outbox_event": row.event,
                                   "reason": reason, "status": exc.status, "error": str(exc)[:300]})

    def _alert_advice(self, conn: Connection, sink: str, exc: SinkError, now: datetime) -> None:
        """A sink error may name its own alert (TLS failure, unsafe address): about the sink, elsewhere."""
        advice = getattr(exc, "alert", None)
        if self.alerter is None or not isinstance(advice, dict):
            return
        self.alerter.queue(conn, kind=advice["kind"], subject=sink, now=now, exclude=[sink], action=advice["action"],
                           summary=advice["summary"], detail=advice.get("detail"))

    def _alert_sink(self, conn: Connection, sink: str, exc: SinkError, gone: bool, now: datetime) -> None:
        if self.alerter is None:
            return
        kind = "sink_disabled" if gone else "sink_unauthorized"
        what = ("answered 410 Gone: the endpoint was removed; it is disabled" if gone else
                f"refused our credentials (HTTP {exc.status}); it is stopped for "
                f"{self.settings.auth_pause_seconds} s, then tried once")
        action = ("Fix the sink's url" if gone else "Fix the sink's token/secret or client certificate") + \
                 f", then `connector outbox retry --sink {sink}`. Its messages are kept."
        self.alerter.queue(conn, kind=kind, subject=sink, now=now, exclude=[sink], action=action,
                           summary=f"sink {sink} {what}",
                           detail={"sink": sink, "status": exc.status, "error": str(exc)[:300]})


def _record(conn: Connection, row_id: str, **values: Any) -> None:
    """Write one outcome, only if nobody changed the row's state meanwhile."""
    conn.execute(update(outbox).where((outbox.c.id == row_id) & (outbox.c.status == PENDING)).values(**values))
