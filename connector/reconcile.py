"""Snapshot reconciliation: the ledger this source posted vs the WMS's own on-hand table.

A cursor cannot see a hard-deleted row, and some WMS logs leave movements out (GreaterWMS does not
log count adjustments). So, on a schedule, the WMS's on-hand snapshot (the profile's [snapshot]:
sku, qty, uom) is converted through the item mapping into declared units, summed per ledger item
(账册号 + 商品序号), and compared with the sum of this source's ledger entries plus what its lines
still in flight will post (reconcile_flight.py): a movement the snapshot already holds and the ledger
not yet is not a difference. Each difference both of two looks agree on is a `wms_snapshot_mismatch`
discrepancy, written with its outbox rows in one transaction; one that is no longer found is
resolved. Snapshot rows the mapping cannot convert are counted, not guessed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from connector import reconcile_flight
from connector.compare import lifecycle  # one life cycle for every discrepancy
from connector.compare.rules.base import discrepancy_id
from connector.mapping_file import Mapping
from connector.model import Discrepancy
from connector.store.engine import Store
from connector.store.tables import discrepancies, ledger_entries

KIND = "wms_snapshot_mismatch"
Key = tuple[str, int]


def reconcile_source(store: Store, name: str, adapter, mapping: Mapping, *, routes: dict[str, list[str]],
                     site: str, clock, log) -> dict[str, Any]:
    """Compare one source's snapshot with its ledger and its lines in flight (reconcile_flight.py);
    when they differ, look a second time and report only the differences both looks agree on (the
    same ledger minus WMS; the figures, as of the second look): a movement committed between reading
    the snapshot and the WMS's newest rows shows in one look only, and leaves its item's discrepancy
    as it was (`unsettled`). Returns counts."""
    first = _look(store, name, adapter, mapping)
    second = _look(store, name, adapter, mapping) if first is not None and first.differences else first
    if second is None:
        log.warning("reconcile_skipped", source=name,
                    reason=f"more than {reconcile_flight.LIMIT} lines in flight: the sync is behind")
        return {"skipped": 1}
    agreed = {key: pair for key, pair in second.differences.items()
              if _delta(first.differences.get(key)) == _delta(pair)}
    unsettled = (set(first.differences) | set(second.differences)) - set(agreed)
    found = [_finding(name, key, *pair, second.units.get(key)) for key, pair in sorted(agreed.items())]
    with store.begin() as conn:
        counts = _apply(conn, name, found, clock.now(), routes, site, {_id(name, key) for key in unsettled})
    counts.update(items=second.items, unsettled=len(unsettled),
                  **{f"snapshot_{k}": n for k, n in second.skipped.items()})
    log.info("reconcile_done", source=name, **counts)
    return dict(counts)


@dataclass
class _Look:
    differences: dict[Key, tuple[Decimal, Decimal]]  # item -> (WMS on hand, ledger with the lines in flight)
    units: dict[Key, str]
    skipped: Counter
    items: int


def _delta(pair: tuple[Decimal, Decimal] | None) -> Decimal | None:
    return None if pair is None else pair[1] - pair[0]


def _look(store: Store, name: str, adapter, mapping: Mapping) -> _Look | None:
    """Snapshot first, then the ledger and the WMS rows after the cursor (None: too many in flight)."""
    wms, units, skipped = snapshot_totals(adapter.snapshot(), mapping)
    with store.read() as conn:
        ledger, flight = ledger_totals(conn, name), reconcile_flight.in_flight_totals(conn, name, adapter, mapping)
    if flight is None:
        return None
    for key, qty in flight.items():
        ledger[key] = ledger.get(key, Decimal(0)) + qty
    keys = set(wms) | set(ledger)
    differences = {key: (wms.get(key, Decimal(0)), ledger.get(key, Decimal(0))) for key in keys
                   if wms.get(key, 0) != ledger.get(key, 0)}
    return _Look(differences, units, skipped, len(keys))


def every_seconds(app) -> int | None:
    """How often the daemon runs the reconciliation: the shortest `reconcile_every_seconds` of the
    sources that have an on-hand snapshot; None when none has one (or all set 0)."""
    periods = [getattr(app.adapter("sources", name).config, "reconcile_every_seconds", 0)
               for name in app.config.sources if getattr(app.adapter("sources", name), "snapshot_query", None)]
    periods = [p for p in periods if p]
    return min(periods) if periods else None


def snapshot_totals(rows: list[dict[str, Any]], mapping: Mapping) -> tuple[dict[Key, Decimal], dict[Key, str], Counter]:
    totals: dict[Key, Decimal] = defaultdict(Decimal)
    units: dict[Key, str] = {}
    skipped: Counter = Counter()
    for row in rows:
        item = mapping.item_for(str(row["sku"])) if row.get("sku") is not None else None
        factor = item.units.get(str(row["uom"])) if item else None
        if item is None or factor is None:
            skipped["unmapped_sku" if item is None else "unit_unconvertible"] += 1
            continue
        key = (item.bws_no, item.gds_seqno)
        totals[key] += Decimal(str(row["qty"])) * factor
        units[key] = item.dcl_unitcd
    return dict(totals), units, skipped


def ledger_totals(conn, name: str) -> dict[Key, Decimal]:
    e = ledger_entries.c
    query = select(e.bws_no, e.gds_seqno, e.dcl_qty).where(e.source == name)
    totals: dict[Key, Decimal] = defaultdict(Decimal)
    for bws_no, seqno, qty in conn.execute(query):  # DecimalText: summed in Python, never as float
        totals[(bws_no, seqno)] += qty
    return dict(totals)


def _id(name: str, key: Key) -> str:
    return discrepancy_id(KIND, name, *key)  # the comparator's ids: the same text, the same hash


def _finding(name: str, key: Key, wms: Decimal, posted: Decimal, unit: str | None) -> Discrepancy:
    return Discrepancy(id=_id(name, key), kind=KIND, ledger_no=key[0], item_seq=key[1], item_no=None, doc_refs=(),
                       expected_qty=wms.normalize(), actual_qty=posted.normalize(),
                       delta_qty=(posted - wms).normalize(), unit=unit,
                       details={"source": name, "meaning": "ledger posted from this source minus the WMS on-hand "
                                "snapshot; a row deleted in the WMS or a movement its log omits"})


def _apply(conn, name: str, found: list[Discrepancy], now, routes, site: str, unsettled: set[str]) -> Counter:
    counts: Counter = Counter()
    unit_key = f"reconcile:{name}"
    existing = {r.id: r for r in conn.execute(select(discrepancies).where(discrepancies.c.kind == KIND))
                if (r.details or {}).get("source") == name}
    for d in found:
        event = lifecycle.upsert(conn, d, unit_key, existing.get(d.id), now)
        counts[event or "unchanged"] += 1
        if event:
            lifecycle.queue(conn, event, d.id, now, routes, site)
    kept = {d.id for d in found} | unsettled  # found again, or not settled by this run: not resolved
    for did, row in existing.items():
        if row.status in lifecycle.LIVE and did not in kept:
            lifecycle.resolve(conn, row, now)
            counts["resolved"] += 1
            lifecycle.queue(conn, "resolved", did, now, routes, site)
    return counts


def open_mismatches(conn) -> int:
    return conn.execute(select(func.count()).select_from(discrepancies)
                        .where(discrepancies.c.kind == KIND, discrepancies.c.status == "open")).scalar()
