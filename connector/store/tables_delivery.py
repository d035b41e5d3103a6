"""Delivery's own tables: each sink's circuit breaker, and the alert de-duplication log.

`sink_state` survives restarts so a sink that answered 401, 410 or keeps timing out is not hit
again by every scheduled run (RELIABILITY.md B5 25, 29). `alert_log` remembers when an alert of a
(kind, subject) was last queued and how many were suppressed since, so alerts are de-duplicated
and rate-limited per kind.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from connector.store.tables import metadata, outbox
from connector.store.types import AwareDateTime

sink_state = Table(
    "sink_state", metadata,
    Column("sink", String(100), primary_key=True),
    Column("state", String(20), nullable=False),  # closed | open | stopped | disabled
    Column("failures", Integer, nullable=False, server_default="0"),  # consecutive endpoint failures
    Column("open_until", AwareDateTime),  # open/stopped: not tried before this (half-open after)
    Column("reason", Text),
    Column("last_status", Integer),
    Column("changed_at", AwareDateTime, nullable=False),
)

alert_log = Table(
    "alert_log", metadata,
    Column("kind", String(50), primary_key=True),
    Column("subject", String(300), primary_key=True),
    Column("last_at", AwareDateTime),  # None: never queued (only suppressed so far)
    Column("suppressed", Integer, nullable=False, server_default="0"),
)
Index("ix_alert_log_kind", alert_log.c.kind, alert_log.c.last_at)

# Ordering per discrepancy: the relay looks for an earlier undelivered row of the same item.
Index("ix_outbox_order", outbox.c.sink, outbox.c.discrepancy_id, outbox.c.seq)
