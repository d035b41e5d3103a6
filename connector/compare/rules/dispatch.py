"""C5 passport ↔ WMS dispatch (vehicle + time window) and C8 "passport voided but the truck left".

The WMS side comes from movement `extra` fields (`vehicle_no` 车牌, `dispatched_at`, `gross_wt`): the
outbound lines of one vehicle with the same dispatch time are one dispatch (one loading). A dispatch is
covered by a live outbound passport of the same vehicle that passed within `dispatch_window_hours`
(nearest first, each passport covers one dispatch); a dispatch matched only by a voided or deleted
passport of that vehicle declared within the window is 状态不一致 (C8); otherwise 无单出区. A passed
passport no dispatch used is 有单无装车 — reported only when the WMS records loadings for that vehicle
(or `dispatch_all_vehicles` says it records every vehicle).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from connector.compare.rules.base import RuleResult, discrepancy_id, held, within_window
from connector.compare.rules.gate import Passport
from connector.compare.settings import CompareSection
from connector.model import Discrepancy


@dataclass(frozen=True)
class Dispatch:
    ref: str  # the WMS loading: vehicle and dispatch time
    vehicle_no: str
    at: datetime
    gross_wt: Decimal | None = None  # Σ shipped gross weight (kg); None when a line gave none
    docs: tuple[str, ...] = ()  # WMS document references of its lines
    evidence: tuple[str, ...] = ()


def _near(d: Dispatch, p: Passport, vehicles: dict[str, str], window: timedelta) -> bool:
    return vehicles.get(p.passport_no) == d.vehicle_no and p.passed_at is not None and abs(p.passed_at - d.at) <= window


def _voided(d: Dispatch, p: Passport, vehicles: dict[str, str], window: timedelta) -> bool:
    at = p.passed_at or p.declared_at
    return p.void and vehicles.get(p.passport_no) == d.vehicle_no and (at is None or abs(at - d.at) <= window)


def match_dispatches(dispatches: list[Dispatch], passports: list[Passport], vehicles: dict[str, str],
                     now: datetime, settings: CompareSection,
                     loading_known: bool = True) -> tuple[RuleResult, dict[str, Dispatch]]:
    """The findings, and passport number -> the dispatch it covers (for the WMS gross weight, C4).
    Each dispatch looks only at the passed passports inside its window (bisected by pass time), so
    a vehicle with years of trips costs n log n, not n × m."""
    window = timedelta(seconds=float(settings.dispatch_window_hours * 3600))
    result, used = RuleResult(), {}
    passed = sorted((p for p in passports if not p.void and p.passed_at is not None), key=lambda p: p.passed_at)
    times, void = [p.passed_at for p in passed], [p for p in passports if p.void]
    for d in sorted(dispatches, key=lambda x: (x.at, x.ref)):
        live = [p for p in within_window(passed, times, d.at, window)
                if p.passport_no not in used and _near(d, p, vehicles, window)]
        if live:
            used[min(live, key=lambda p: (abs(p.passed_at - d.at), p.passport_no)).passport_no] = d
            continue
        voided = sorted(p.passport_no for p in void if _voided(d, p, vehicles, window))
        kind = "state_mismatch" if voided else "dispatch_without_passport"
        _report(result, kind, (d.ref, d.vehicle_no), d.at, now, settings, (*d.docs, *voided),
                {"vehicleNo": d.vehicle_no, "dispatched_at": d.at.isoformat(), "gross_wt": _s(d.gross_wt),
                 "voided_passports": voided, "evidence": [f"dispatch:{d.ref}", *d.evidence]})
    if loading_known:
        _unloaded(result, [p for p in passports if not p.void and p.passed_at and p.passport_no not in used],
                  vehicles, now, settings)
    return result, used


def _unloaded(result: RuleResult, passports: list[Passport], vehicles: dict[str, str], now: datetime,
              settings: CompareSection) -> None:
    """有单无装车: passed passports no dispatch used."""
    for p in sorted(passports, key=lambda p: p.passport_no):
        _report(result, "passport_without_loading", (p.passport_no,), p.passed_at, now, settings,
                (p.passport_no, *p.lists), {"vehicleNo": vehicles.get(p.passport_no),
                                            "passTime": p.passed_at.isoformat(),
                                            "evidence": [f"passport:{p.passport_no}"]})


def dispatch_vs_passports(dispatches: list[Dispatch], passports: list[Passport], vehicles: dict[str, str],
                          now: datetime, settings: CompareSection) -> RuleResult:
    """`vehicles`: passport number -> 车牌 (vehicleNo) of SAS221/223."""
    return match_dispatches(dispatches, passports, vehicles, now, settings)[0]


def _report(result: RuleResult, kind: str, key: tuple, moment: datetime, now: datetime, s: CompareSection,
            refs: tuple, details: dict) -> None:
    did = discrepancy_id(kind, *key)
    if not held(result, did, moment, now, s.dispatch_window_hours):
        result.found.append(Discrepancy(did, kind, None, None, None, refs, None, None, None, None, details))


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")
