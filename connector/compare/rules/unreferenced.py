"""C2 for movements without a document reference: matched by item, direction and time window.

A WMS line that carries no 企业内部编号 can still be covered by a 核注清单 whose document no movement
names ("orphan" list) when the 料号 and direction agree and the list was declared within
`unreferenced_window_hours` of the movement. Quantities are allocated N:M (allocation.py); what is
left on a movement after allocation is 无单出入 for that quantity.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from connector.compare.rules.allocation import allocate
from connector.compare.rules.base import ZERO, RuleResult, discrepancy_id, held, within_window
from connector.compare.rules.inputs import ListItem, WmsLine
from connector.compare.settings import CompareSection
from connector.model import Discrepancy


def candidates(line: WmsLine, listed: ListItem, window: timedelta) -> bool:
    same_direction = (line.qty > 0) == (listed.impexp_markcd == "I")
    return (line.gds_mtno == listed.gds_mtno and same_direction
            and abs(line.occurred_at - listed.declared_at) <= window)


def unreferenced(lines: list[WmsLine], orphans: list[ListItem], now: datetime,
                 settings: CompareSection) -> RuleResult:
    window = timedelta(seconds=float(settings.unreferenced_window_hours * 3600))
    lines = sorted((x for x in lines if x.qty != 0), key=lambda x: (x.occurred_at, x.line_key))
    orphans = sorted(orphans, key=lambda x: (x.declared_at, x.bond_invt_no, x.gds_mtno))
    by_line = {x.line_key: x for x in lines}
    by_list = {(o.bond_invt_no, o.gds_mtno): o for o in orphans}
    right = [(k, o.dcl_qty) for k, o in by_list.items()]
    times = [by_list[k].declared_at for k, _ in right]  # in declared order: a window is one slice

    alloc = allocate([(x.line_key, abs(x.qty)) for x in lines], right,
                     near=lambda lk: within_window(right, times, by_line[lk].occurred_at, window),
                     fits=lambda lk, rk: candidates(by_line[lk], by_list[rk], window))
    covers: dict[str, list] = defaultdict(list)
    for lk, rk, q in alloc.pairs:
        covers[lk].append((rk, q))
    result = RuleResult()
    for line in lines:
        left = alloc.left[line.line_key]
        if left > 0:
            _missing(result, line, left if line.qty > 0 else -left, covers[line.line_key], now, settings)
    return result


def _missing(result: RuleResult, line: WmsLine, left, cover: list, now: datetime, s: CompareSection) -> None:
    key = ("no-doc", line.line_key)
    if held(result, discrepancy_id("missing_list", *key), line.occurred_at, now, s.movement_grace_hours):
        return
    details = {"wms_lines": [line.line_key], "last_movement_at": line.occurred_at.isoformat(),
               "allocated": [{"list": f"{rk[0]}/{rk[1]}", "qty": format(q, "f")} for rk, q in cover],
               "evidence": list(line.evidence) + [f"list:{rk[0]}/{rk[1]}" for rk, _ in cover]}
    result.found.append(Discrepancy(
        discrepancy_id("missing_list", *key), "missing_list", line.bws_no, line.gds_seqno, line.gds_mtno, (),
        expected_qty=line.qty - left if cover else ZERO, actual_qty=line.qty, delta_qty=left, unit=line.unit,
        details=details))
