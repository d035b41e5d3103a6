"""C3 list ↔ 核放单 (一票多车, 一车多票) and C4 gate weight (重量超差).

C3: truck lines (passport body `rltGdsSeqno`, `dclQty`) are allocated to the list lines of the
lists each passport is linked to; Σ per list line is `passportUsedQty`. More than the line declares
is 核放超量; a list formally verified (closed) whose passed trucks carry less is 核放不足.
C4: `totalWt` vs weighbridge `passCollectWt` (0 = not weighed, never a 100 % error) and, when a
source supplies it, the WMS shipped gross weight vs `totalGrossWt`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from connector.compare.rules.allocation import allocate
from connector.compare.rules.base import RuleResult, discrepancy_id, held, rate
from connector.compare.rules.inputs import WmsDocItem
from connector.compare.settings import CompareSection
from connector.model import Discrepancy


@dataclass(frozen=True)
class ListLine:
    bond_invt_no: str
    gds_seqno: int
    gds_mtno: str | None
    dcl_qty: Decimal
    unit: str | None
    declared_at: datetime
    closed: bool = False  # formally verified (vrfdedMarkcd=2): every truck should have passed
    putrec_no: str | None = None
    putrec_seqno: int | None = None


@dataclass(frozen=True)
class PassportLine:
    passport_no: str
    seqno: int
    rlt_gds_seqno: int | None
    gds_mtno: str | None
    dcl_qty: Decimal


@dataclass(frozen=True)
class Passport:
    passport_no: str
    lists: tuple[str, ...]
    lines: tuple[PassportLine, ...] = ()
    void: bool = False
    passed_at: datetime | None = None
    total_wt: Decimal | None = None
    total_gross_wt: Decimal | None = None
    pass_collect_wt: Decimal | None = None
    declared_at: datetime | None = None


def _fits(p: PassportLine, line: ListLine, links: dict[str, tuple[str, ...]]) -> bool:
    return (line.bond_invt_no in links[p.passport_no] and p.rlt_gds_seqno == line.gds_seqno
            and (p.gds_mtno is None or line.gds_mtno is None or p.gds_mtno == line.gds_mtno))


def _used(lines: list[ListLine], passports: list[Passport]) -> dict[tuple, Decimal]:
    """Σ truck quantity per list line; a truck line that fits no free line counts on its first fit."""
    links = {p.passport_no: p.lists for p in passports}
    demand = [((t.passport_no, t.seqno), t) for p in sorted(passports, key=lambda p: p.passport_no)
              for t in p.lines]
    supply = sorted(((x.bond_invt_no, x.gds_seqno), x) for x in lines)
    trucks, listed = dict(demand), dict(supply)
    alloc = allocate([(k, t.dcl_qty) for k, t in demand], [(k, x.dcl_qty) for k, x in supply],
                     fits=lambda a, b: _fits(trucks[a], listed[b], links))
    used = {k: x.dcl_qty - alloc.right[k] for k, x in supply}
    for key, truck in demand:
        first = next((k for k, x in supply if _fits(truck, x, links)), None)
        if alloc.left[key] > 0 and first is not None:
            used[first] += alloc.left[key]
    return used


def list_vs_passports(lines: list[ListLine], passports: list[Passport], now: datetime,
                      settings: CompareSection, only: str | None = None) -> RuleResult:
    """`only`: report just that list's lines (the others are there for the 一车多票 allocation)."""
    result = RuleResult()
    live = [p for p in passports if not p.void]
    used, passed = _used(lines, live), _used(lines, [p for p in live if p.passed_at])
    for line in sorted(lines, key=lambda x: (x.bond_invt_no, x.gds_seqno)):
        if only is not None and line.bond_invt_no != only:
            continue
        key = (line.bond_invt_no, line.gds_seqno)
        if used[key] > line.dcl_qty:
            _c3(result, "passport_over_allocation", line, used[key], now, settings)
        elif line.closed and live and passed[key] < line.dcl_qty:
            _c3(result, "passport_shortfall", line, passed[key], now, settings)
    return result


def _c3(result: RuleResult, kind: str, line: ListLine, qty: Decimal, now: datetime, s: CompareSection) -> None:
    did = discrepancy_id(kind, line.bond_invt_no, line.gds_seqno)
    if held(result, did, line.declared_at, now, s.passport_grace_hours):
        return
    field = "passportUsedQty" if kind == "passport_over_allocation" else "actlPassQty"
    result.found.append(Discrepancy(
        did, kind, line.putrec_no, line.putrec_seqno, line.gds_mtno, (line.bond_invt_no,),
        expected_qty=line.dcl_qty, actual_qty=qty, delta_qty=qty - line.dcl_qty, unit=line.unit,
        details={"gdsSeqno": line.gds_seqno, "dclQty": str(line.dcl_qty), field: str(qty),
                 "evidence": [f"list:{line.bond_invt_no}/{line.gds_seqno}"]}))


def voided_but_moved(list_no: str, doc: str | None, passports: list[Passport], moved: list[WmsDocItem],
                     now: datetime, s: CompareSection) -> RuleResult:
    """C8 状态不一致: every passport naming the list was voided or deleted, yet the WMS moved its goods."""
    result = RuleResult()
    moving = [w for w in moved if w.qty != 0]
    if not passports or not moving or any(not p.void for p in passports):
        return result
    did = discrepancy_id("state_mismatch", list_no, "passport_void")
    if held(result, did, max(w.last_occurred_at for w in moving), now, s.movement_grace_hours):
        return result
    voided = [p.passport_no for p in passports]
    result.found.append(Discrepancy(
        did, "state_mismatch", moving[0].bws_no, None, None, tuple(filter(None, (doc, list_no, *voided))),
        None, None, None, None, {
            "reason": "passport voided or deleted (核放单作废/删除) but goods moved", "passports": voided,
            "moved": {w.gds_mtno: format(w.qty, "f") for w in moving},
            "wms_lines": sorted({k for w in moving for k in w.line_keys}),
            "evidence": sorted({e for w in moving for e in w.evidence} | {f"passport:{p}" for p in voided})}))
    return result


def weight_check(p: Passport, wms_gross_wt: Decimal | None, settings: CompareSection) -> RuleResult:
    """重量超差: weighbridge vs declared total, and WMS shipped gross vs declared goods gross."""
    pairs = [("weighbridge", p.total_wt, p.pass_collect_wt), ("wms", p.total_gross_wt, wms_gross_wt)]
    return _weights(p, pairs, wms_gross_wt, settings)


def wms_weight_check(p: Passport, wms_gross_wt: Decimal | None, tare: Decimal | None,
                     settings: CompareSection) -> RuleResult:
    """重量超差 on the WMS side only (the weighbridge side is the gate unit's): the WMS shipped gross
    weight vs the passport's goods gross `totalGrossWt`, and, when the passport gives the tare
    (vehicleWt + vehicleFrameWt + containerWt), WMS gross + tare vs the weighbridge `passCollectWt`."""
    pairs = [("wms", p.total_gross_wt, wms_gross_wt)]
    if tare is not None and wms_gross_wt is not None and p.pass_collect_wt:  # 0: not weighed
        pairs.append(("wms_weighbridge", p.pass_collect_wt, wms_gross_wt + tare))
    return _weights(p, pairs, wms_gross_wt, settings)


def _weights(p: Passport, pairs: list, wms_gross_wt: Decimal | None, settings: CompareSection) -> RuleResult:
    result = RuleResult()
    for side, declared, measured in pairs:
        if declared is None or not measured:  # passCollectWt 0 / missing: not weighed
            continue
        delta = measured - declared
        if abs(delta) > max(settings.weight_tolerance_kg, settings.weight_tolerance_rate * abs(declared)):
            result.found.append(Discrepancy(
                discrepancy_id("weight_over_tolerance", p.passport_no, side), "weight_over_tolerance",
                None, None, None, (p.passport_no, *p.lists), expected_qty=declared, actual_qty=measured,
                delta_qty=delta, unit="035", details={
                    "compared": side, "totalWt": _s(p.total_wt), "totalGrossWt": _s(p.total_gross_wt),
                    "passCollectWt": _s(p.pass_collect_wt), "wms_gross_wt": _s(wms_gross_wt),
                    "wtError": _s(delta), "rate": rate(delta, declared), "evidence": [f"passport:{p.passport_no}"]}))
    return result


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)

