"""Operational alerts, queued in the outbox like any message: de-duplicated, rate-limited, actionable.

An alert is `alert.<kind>` about a `subject` (a sink, a message id, `stage:source:reason`). The
same (kind, subject) is not queued again within `alert_repeat_seconds`, and at most
`alert_max_per_hour` alerts of one kind are queued per hour; what was held back is counted and
reported with the next alert of that (kind, subject) as `suppressed_before`. Every alert says what
to do next (`action`). Sinks choose alerts with `events` patterns (`alert.*`); an alert about a
sink is never routed to that sink ("alert through another channel").
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from connector import outbox
from connector.config.schema import DeliverySection
from connector.store.engine import Store
from connector.store.tables_delivery import alert_log

SCHEMA = "bonded-connector/alert"
SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class Alerter:
    """Where alerts go and how often: built from the sinks' routes and the [delivery] section."""

    routes: Mapping[str, list[str]]
    site: str
    settings: DeliverySection
    log: Any = None

    def targets(self, kind: str, exclude: Iterable[str] = ()) -> list[str]:
        event, skip = f"alert.{kind}", set(exclude)
        return [sink for sink, patterns in sorted(self.routes.items())
                if sink not in skip and any(fnmatch.fnmatchcase(event, p) for p in patterns)]

    def queue(self, conn: Connection, *, kind: str, subject: str, summary: str, action: str, now: datetime,
              detail: Mapping[str, Any] | None = None, exclude: Iterable[str] = ()) -> bool:
        """Queue the alert in the caller's transaction unless de-duplicated or rate-limited."""
        targets = self.targets(kind, exclude)
        if not targets:
            self._log("alert.no_channel", kind=kind, subject=subject, summary=summary)
            return False
        previous = conn.execute(select(alert_log).where(
            (alert_log.c.kind == kind) & (alert_log.c.subject == subject))).first()
        if self._held_back(conn, kind, previous, now):
            _suppress(conn, kind, subject, previous)
            self._log("alert.suppressed", kind=kind, subject=subject)
            return False
        payload = self._payload(kind, subject, summary, action, now, detail or {},
                                previous.suppressed if previous else 0)
        for sink in targets:
            outbox.enqueue(conn, sink=sink, event=f"alert.{kind}", key=f"{kind}:{subject}:{now.isoformat()}",
                           discrepancy_id=None, payload=payload, now=now)
        _remember(conn, kind, subject, previous, now)
        return True

    def _held_back(self, conn: Connection, kind: str, previous: Any, now: datetime) -> bool:
        repeat = timedelta(seconds=self.settings.alert_repeat_seconds)
        if previous is not None and previous.last_at is not None and now - previous.last_at < repeat:
            return True
        recent = conn.execute(select(func.count()).select_from(alert_log).where(
            and_(alert_log.c.kind == kind, alert_log.c.last_at > now - timedelta(hours=1)))).scalar_one()
        return recent >= self.settings.alert_max_per_hour

    def _payload(self, kind: str, subject: str, summary: str, action: str, now: datetime,
                 detail: Mapping[str, Any], suppressed: int) -> dict[str, Any]:
        body = {**detail, "kind": kind, "subject": subject, "summary": summary, "action": action,
                "at": now.isoformat(), "suppressed_before": suppressed}
        return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "site": self.site,
                "event": f"alert.{kind}", "alert": body}

    def _log(self, event: str, **fields: Any) -> None:
        if self.log is not None:
            self.log.warning(event, **fields)


def _suppress(conn: Connection, kind: str, subject: str, previous: Any) -> None:
    if previous is None:
        conn.execute(alert_log.insert().values(kind=kind, subject=subject, last_at=None, suppressed=1))
    else:
        conn.execute(update(alert_log).where((alert_log.c.kind == kind) & (alert_log.c.subject == subject))
                     .values(suppressed=alert_log.c.suppressed + 1))


def _remember(conn: Connection, kind: str, subject: str, previous: Any, now: datetime) -> None:
    if previous is None:
        conn.execute(alert_log.insert().values(kind=kind, subject=subject, last_at=now, suppressed=0))
    else:
        conn.execute(update(alert_log).where((alert_log.c.kind == kind) & (alert_log.c.subject == subject))
                     .values(last_at=now, suppressed=0))


QUARANTINE_ACTION = ("Fix the item mapping or the source data (`connector status` lists open quarantine by "
                     "reason; bad InBox files are in failed/ with a .reason.txt); the next sync retries them.")


def quarantined(store: Store, *, stage: str, source: str, reasons: dict[str, int], routes: dict[str, list[str]],
                site: str, now: datetime, settings: DeliverySection | None = None) -> int:
    """Queue one `alert.quarantine` per reason seen in this run; return how many were queued."""
    alerter = Alerter(routes, site, settings or DeliverySection())
    if not reasons or not alerter.targets("quarantine"):
        return 0
    queued = 0
    with store.begin() as conn:
        for reason, rows in sorted(reasons.items()):
            queued += alerter.queue(
                conn, kind="quarantine", subject=f"{stage}:{source}:{reason}", now=now, action=QUARANTINE_ACTION,
                summary=f"{rows} row(s) of {source} quarantined at the {stage} stage: {reason}",
                detail={"stage": stage, "source": source, "reason": reason, "rows": rows,
                        "see": "connector status (quarantine_open)"})
    return queued


HALTED_ACTION = ("The stored cursor of this source cannot be valid any more (the WMS was restored or truncated); "
                 "nothing is read from it until an operator decides: check the WMS, then "
                 "`connector sources reset {source} --confirm` (docs/sources.md).")


def source_halted(store: Store, *, source: str, message: str, routes: dict[str, list[str]], site: str,
                  now: datetime, settings: DeliverySection | None = None) -> bool:
    """Queue one `alert.source_halted` about a source (de-duplicated and rate-limited like any alert)."""
    alerter = Alerter(routes, site, settings or DeliverySection())
    with store.begin() as conn:
        return alerter.queue(conn, kind="source_halted", subject=f"source:{source}", now=now,
                             action=HALTED_ACTION.format(source=source),
                             summary=f"source {source} is halted: {message}"[:300],
                             detail={"stage": "source", "source": source, "reason": "cursor_invalid",
                                     "error": message[:300]})
