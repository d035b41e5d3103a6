"""The supervision push document, version 1.0 (published in docs/push-schema.md).

Two event families share one envelope — `schema`, `schema_version`, `event`, `event_id`, `site`,
`occurred_at` — so a receiver can route on `event` and refuse a major version it does not know:

- `discrepancy.opened|updated|resolved`: one discrepancy at one version (`discrepancy`), with the
  ledger item in the glossary's names (`item`: bwsNo, gdsSeqno, gdsMtno, dclUnitcd) and the
  customs-named figures it carries (`customs`: shdRemainQty, actlRemainQty, dsmlQty, dsmlRate, ...);
- `snapshot.balance`: the per-item balance of every ledger line at one moment (`items`).

Quantities are decimal strings, times ISO-8601 with offset. Additive changes keep the major
version; removing or renaming a field bumps it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from connector import outbox
from connector.store.engine import Store
from connector.compare.load import ledger_states
from connector.compare.rules.balance import formal_balance
from connector.store.tables import ledger_entries

SCHEMA = "bonded-connector/supervision"
SCHEMA_VERSION = "1.0"
SNAPSHOT_EVENT = "snapshot.balance"
CUSTOMS_NAMES = ("shdRemainQty", "actlRemainQty", "availableQty", "dsmlQty", "dsmlRate",
                 "etpsInnerInvtNo", "bondInvtNo", "putrecSeqno", "impexpMarkcd")
RATE_PLACES = Decimal("0.000001")
ZERO = Decimal(0)


def envelope(event: str, event_id: str, site: str, now: datetime) -> dict[str, Any]:
    return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "event": event, "event_id": event_id,
            "site": site, "occurred_at": now.isoformat()}


def discrepancy_event(event: str, site: str, discrepancy: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """`discrepancy` is the public shape (compare.engine.as_dict) of the row at its new version."""
    details = discrepancy.get("details") or {}
    document = envelope(event, f"{discrepancy['id']}:{discrepancy['version']}", site, now)
    document["discrepancy"] = dict(discrepancy)
    document["item"] = {"bwsNo": discrepancy.get("ledger_no"), "gdsSeqno": discrepancy.get("item_seq"),
                        "gdsMtno": discrepancy.get("item_no"), "dclUnitcd": discrepancy.get("unit")}
    customs = {k: details[k] for k in CUSTOMS_NAMES if k in details}
    customs.setdefault("dsmlQty", discrepancy.get("delta_qty"))
    document["customs"] = customs
    return document


def balance_items(conn: Connection, formula: str) -> list[dict[str, Any]]:
    """Every ledger line customs sent, beside the WMS stock posted to it (declared units).

    The ledger side is read and computed as the comparator does (its loader and balance formula).
    """
    e = ledger_entries.c
    totals: dict[tuple[str, int], Decimal] = {}
    for r in conn.execute(select(e.bws_no, e.gds_seqno, e.dcl_qty)):
        totals[(r.bws_no, r.gds_seqno)] = totals.get((r.bws_no, r.gds_seqno), ZERO) + r.dcl_qty
    items = []
    for _key, line in sorted(ledger_states(conn, None).items()):
        shd = formal_balance(line, formula)
        actl = totals.get((line.bws_no, line.gds_seqno), ZERO)
        dsml = actl - shd
        items.append({"bwsNo": line.bws_no, "gdsSeqno": line.gds_seqno, "gdsMtno": line.gds_mtno,
                      "dclUnitcd": line.unit, "shdRemainQty": shd, "actlRemainQty": actl, "dsmlQty": dsml,
                      "dsmlRate": (dsml / shd).quantize(RATE_PLACES) if shd else None})
    return items


def snapshot_moment(now: datetime, every_seconds: int) -> datetime:
    """The start of the snapshot period `now` falls in: one snapshot per period, however often asked."""
    stamp = int(now.timestamp())
    return datetime.fromtimestamp(stamp - stamp % max(every_seconds, 1), UTC)


def queue_snapshot(store: Store, *, routes: Mapping[str, list[str]], site: str, formula: str,
                   now: datetime, every_seconds: int) -> int:
    """Queue this period's balance snapshot to every sink routed `snapshot.balance`; return how many."""
    targets = [s for s, patterns in sorted(routes.items())
               if any(fnmatch.fnmatchcase(SNAPSHOT_EVENT, p) for p in patterns)]
    if not targets or every_seconds <= 0:
        return 0
    moment = snapshot_moment(now, every_seconds)
    with store.begin() as conn:
        document = envelope(SNAPSHOT_EVENT, f"snapshot:{moment.isoformat()}", site, now)
        document.update(taken_at=now.isoformat(), period_start=moment.isoformat(), balance_formula=formula,
                        items=balance_items(conn, formula))
        for sink in targets:
            outbox.enqueue(conn, sink=sink, event=SNAPSHOT_EVENT, key=moment.isoformat(), discrepancy_id=None,
                           payload=document, now=now)
    return len(targets)
