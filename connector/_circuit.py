"""A circuit breaker per sink (endpoint), kept in the state store so it survives restarts.

    closed ──endpoint failures ≥ threshold, no answer, 429/Retry-After──▶ open (until T)
    open ──T passed──▶ half-open: the next message is a probe ──success──▶ closed
                                                              └─failure──▶ open (longer)
    any ──401/403──▶ stopped (until now + auth_pause_seconds, then one probe) — credentials
    any ──410──────▶ disabled (until `connector outbox retry --sink NAME`)   — endpoint gone

Messages of a sink that is not closed stay pending and untouched; nothing is dropped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select

from connector.config.schema import DeliverySection
from connector.errors import SinkError
from connector.store.tables_delivery import sink_state

CLOSED, OPEN, STOPPED, DISABLED = "closed", "open", "stopped", "disabled"
RETRY_AFTER_MIN_SECONDS, RETRY_AFTER_MAX_SECONDS = 1, 3600


@dataclass
class Breaker:
    sink: str
    state: str = CLOSED
    failures: int = 0
    open_until: datetime | None = None
    reason: str | None = None

    def allows(self, now: datetime) -> bool:
        if self.state == CLOSED:
            return True
        return self.state != DISABLED and self.open_until is not None and self.open_until <= now


def backoff_seconds(attempts: int, settings: DeliverySection, rng: random.Random) -> float:
    """Exponential from the base, capped, with "equal jitter": between half and all of the step."""
    step = settings.backoff_base_seconds * 2 ** min(max(attempts - 1, 0), 40)
    ceiling = min(settings.backoff_max_seconds, step)
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def clamp_retry_after(seconds: float) -> float:
    return min(max(seconds, RETRY_AFTER_MIN_SECONDS), RETRY_AFTER_MAX_SECONDS)


class Circuits:
    """The breakers of one relay run: read once, each change written in the caller's transaction."""

    def __init__(self, conn: Connection, settings: DeliverySection, rng: random.Random, log: Any):
        self.settings, self.rng, self.log = settings, rng, log
        self.breakers = {r.sink: Breaker(r.sink, r.state, r.failures, r.open_until, r.reason)
                         for r in conn.execute(select(sink_state))}

    def get(self, sink: str) -> Breaker:
        return self.breakers.setdefault(sink, Breaker(sink))

    def allows(self, sink: str, now: datetime) -> bool:
        return self.get(sink).allows(now)

    def success(self, conn: Connection, sink: str, now: datetime) -> None:
        breaker = self.get(sink)
        if breaker.state != CLOSED or breaker.failures:
            if breaker.state != CLOSED:
                self.log.info("outbox.circuit_closed", sink=sink, was=breaker.state)
            self.breakers[sink] = Breaker(sink)
            _save(conn, self.breakers[sink], None, now)

    def failure(self, conn: Connection, sink: str, exc: SinkError, now: datetime) -> bool:
        """An endpoint-level failure; return True when it (re)opened the circuit."""
        breaker = self.get(sink)
        probing = breaker.state != CLOSED
        breaker.failures += 1
        if not (probing or exc.status in (None, 429) or exc.retry_after is not None
                or breaker.failures >= self.settings.circuit_failure_threshold):
            _save(conn, breaker, exc.status, now)
            return False
        wait = (clamp_retry_after(exc.retry_after) if exc.retry_after is not None
                else backoff_seconds(breaker.failures, self.settings, self.rng))
        self._trip(conn, breaker, OPEN, now + timedelta(seconds=wait), exc, now)
        return True

    def stop(self, conn: Connection, sink: str, exc: SinkError, now: datetime, *, disable: bool) -> None:
        """401/403 stop the sink for `auth_pause_seconds`; 410 disables it until an operator acts."""
        breaker = self.get(sink)
        until = None if disable else now + timedelta(seconds=self.settings.auth_pause_seconds)
        self._trip(conn, breaker, DISABLED if disable else STOPPED, until, exc, now)

    def _trip(self, conn: Connection, breaker: Breaker, state: str, until: datetime | None,
              exc: SinkError, now: datetime) -> None:
        breaker.state, breaker.open_until, breaker.reason = state, until, str(exc)[:500]
        _save(conn, breaker, exc.status, now)
        self.log.warning("outbox.circuit_" + state, sink=breaker.sink, status=exc.status,
                         failures=breaker.failures, until=until.isoformat() if until else None)


def _save(conn: Connection, breaker: Breaker, status: int | None, now: datetime) -> None:
    conn.execute(delete(sink_state).where(sink_state.c.sink == breaker.sink))
    conn.execute(sink_state.insert().values(
        sink=breaker.sink, state=breaker.state, failures=breaker.failures, open_until=breaker.open_until,
        reason=breaker.reason, last_status=status, changed_at=now))


def reset(conn: Connection, sink: str | None = None) -> int:
    """Close the circuit of one sink (or all): the operator fixed the cause."""
    query = delete(sink_state)
    if sink is not None:
        query = query.where(sink_state.c.sink == sink)
    return conn.execute(query).rowcount or 0


def states(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(sink_state).order_by(sink_state.c.sink))]
