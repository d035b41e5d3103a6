"""`connector mappings check`: what the WMS sent lately that the item mapping does not cover.

The mapping must be total over the SKUs, units and movement types a WMS actually uses
(RELIABILITY.md B5 #17). This reads the movements staged in the last N days (their latest
revisions and earlier ones alike) and lists, per source, the movement types the mapping does not
know, the SKUs it has no item for and the (SKU, unit) pairs without a factor, each with the number
of lines, so a site can fix the mapping before the quarantine fills up. Transfers (`action =
"none"`) need no item.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from connector.mapping_file import Mapping
from connector.store.tables import movements


def uncovered(conn: Connection, source: str, mapping: Mapping, since: datetime) -> dict[str, Any]:
    """Gaps of `mapping` over what `source` staged since `since`, each with its line count."""
    m = movements.c
    seen = conn.execute(select(m.sku, m.uom, m.movement_type, func.count()).where(
        m.source == source, m.changed_at >= since).group_by(m.sku, m.uom, m.movement_type))
    types: Counter = Counter()
    skus: Counter = Counter()
    units: Counter = Counter()
    for sku, uom, mtype, lines in seen:
        kind = mapping.spec.movement_types.get(mtype or "")
        if kind is None:
            types[mtype] += lines
            continue
        if kind.action == "none" or sku is None:
            continue
        item = mapping.item_for(sku)
        if item is None:
            skus[sku] += lines
        elif uom not in item.units:
            units[f"{sku} [{uom}]"] += lines
    return {"unknown_movement_types": _listed(types), "unmapped_skus": _listed(skus),
            "units_without_factor": _listed(units)}


def check_sources(store, loaded, now: datetime, days: int) -> dict[str, Any]:
    since = now - timedelta(days=days)
    with store.read() as conn:
        return {name: uncovered(conn, name, loaded.mappings[name], since) for name in loaded.config.sources}


def has_gaps(report: dict[str, Any]) -> bool:
    return any(any(gaps.values()) for gaps in report.values())


def _listed(counts: Counter) -> list[dict[str, Any]]:
    return [{"value": value, "lines": n} for value, n in sorted(counts.items(), key=lambda kv: str(kv[0]))]
