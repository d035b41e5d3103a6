"""C5 passport ↔ WMS dispatch (vehicle + time window) and C8 "passport voided but the truck left".

The WMS side (truck loading / gate-out events) is not read by any source yet: a source supplies it
later as movement `extra` fields (`vehicle_no`, `dispatched_at`), and the rule is tested as a pure
function. A dispatch is covered by a live passport of the same vehicle that passed within
`dispatch_window_hours`; one matched only by a voided passport is 状态不一致.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.compare.rules.base import RuleResult, discrepancy_id, held
from connector.compare.rules.gate import Passport
from connector.compare.settings import CompareSection
from connector.model import Discrepancy


@dataclass(frozen=True)
class Dispatch:
    ref: str  # the WMS shipment / loading reference
    vehicle_no: str
    at: datetime


def _near(d: Dispatch, p: Passport, vehicles: dict[str, str], window: timedelta) -> bool:
    return vehicles.get(p.passport_no) == d.vehicle_no and p.passed_at is not None and abs(p.passed_at - d.at) <= window


def dispatch_vs_passports(dispatches: list[Dispatch], passports: list[Passport], vehicles: dict[str, str],
                          now: datetime, settings: CompareSection) -> RuleResult:
    """`vehicles`: passport number -> 车牌 (vehicleNo) of SAS221/223."""
    window = timedelta(seconds=float(settings.dispatch_window_hours * 3600))
    result, used = RuleResult(), set()
    for d in sorted(dispatches, key=lambda x: (x.at, x.ref)):
        live = [p for p in passports if not p.void and p.passport_no not in used and _near(d, p, vehicles, window)]
        if live:
            used.add(min(live, key=lambda p: abs(p.passed_at - d.at)).passport_no)
            continue
        voided = any(p.void and vehicles.get(p.passport_no) == d.vehicle_no for p in passports)
        kind = "state_mismatch" if voided else "dispatch_without_passport"
        _report(result, kind, (d.ref, d.vehicle_no), d.at, now, settings, (d.ref,),
                {"vehicleNo": d.vehicle_no, "dispatched_at": d.at.isoformat(), "evidence": [f"dispatch:{d.ref}"]})
    for p in sorted(passports, key=lambda p: p.passport_no):
        if not p.void and p.passed_at and p.passport_no not in used:
            _report(result, "passport_without_loading", (p.passport_no,), p.passed_at, now, settings,
                    (p.passport_no, *p.lists), {"vehicleNo": vehicles.get(p.passport_no),
                                                "passTime": p.passed_at.isoformat(),
                                                "evidence": [f"passport:{p.passport_no}"]})
    return result


def _report(result: RuleResult, kind: str, key: tuple, moment: datetime, now: datetime, s: CompareSection,
            refs: tuple, details: dict) -> None:
    did = discrepancy_id(kind, *key)
    if not held(result, did, moment, now, s.dispatch_window_hours):
        result.found.append(Discrepancy(did, kind, None, None, None, refs, None, None, None, None, details))
