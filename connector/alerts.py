"""Operational alerts: one per (stage, source, reason) per run, queued in the outbox like any message.

Sinks choose them with `events` patterns (`alert.*`); the default `["*"]` gets them too.
"""

from __future__ import annotations

import fnmatch
from datetime import datetime

from connector import outbox
from connector.store.engine import Store


def quarantined(store: Store, *, stage: str, source: str, reasons: dict[str, int], routes: dict[str, list[str]],
                site: str, now: datetime) -> int:
    """Queue one `alert.quarantine` per reason seen in this run; return how many were queued."""
    event = "alert.quarantine"
    targets = [sink for sink, patterns in routes.items() if any(fnmatch.fnmatchcase(event, p) for p in patterns)]
    if not reasons or not targets:
        return 0
    with store.begin() as conn:
        for reason, rows in sorted(reasons.items()):
            payload = {"site": site, "event": event,
                       "alert": {"stage": stage, "source": source, "reason": reason, "rows": rows,
                                 "at": now.isoformat(), "see": "connector status (quarantine_open)"}}
            for sink in targets:
                outbox.enqueue(conn, sink=sink, event=event, key=f"{stage}:{source}:{reason}:{now.isoformat()}",
                               discrepancy_id=None, payload=payload, now=now)
    return len(reasons)
