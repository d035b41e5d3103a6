"""C6 分送集报 deadlines and C7 分类监管 bonded status.

C6: an 出入库单 (SAS111, `centralizedDclTypecd=1` 未集报) must be covered by a collective 核注清单
by the deadline: default the end of the month after the bill, never across a year end (a December
bill is due by 31 December); or a number of days. Customs times are Asia/Shanghai (DOMAIN.md §2.5).
C7: stock recorded in a non-bonded location or lot must not sit on a bonded ledger line.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from connector.compare.rules.base import RuleResult, discrepancy_id, held
from connector.compare.settings import CompareSection
from connector.model import Discrepancy

CUSTOMS_ZONE = ZoneInfo("Asia/Shanghai")


def collective_deadline(bill_at: datetime, settings: CompareSection) -> datetime:
    """The instant an uncollected bill becomes overdue (midnight Asia/Shanghai after the last day)."""
    local = bill_at.astimezone(CUSTOMS_ZONE)
    if settings.collective_deadline == "days":
        day = local.date() + timedelta(days=settings.collective_deadline_days)
        year_end = local.date().replace(month=12, day=31)
        return datetime.combine(min(day, year_end) + timedelta(days=1), time(), CUSTOMS_ZONE)
    year, month = (local.year, local.month + 2) if local.month < 11 else (local.year + 1, 1)
    first_after = datetime(year, month, 1, tzinfo=CUSTOMS_ZONE)
    return min(first_after, datetime(local.year + 1, 1, 1, tzinfo=CUSTOMS_ZONE))


@dataclass(frozen=True)
class StockBill:
    sas_stock_no: str
    at: datetime  # when the goods moved (bill declared / passport passed)
    collected: bool  # centralizedDclTypecd=2 or a SasCentDclStock link exists
    bond_invt_no: str | None = None


def collective_overdue(bills: list[StockBill], now: datetime, settings: CompareSection) -> RuleResult:
    result = RuleResult()
    for bill in sorted(bills, key=lambda b: b.sas_stock_no):
        if bill.collected:
            continue
        due = collective_deadline(bill.at, settings)
        did = discrepancy_id("collective_overdue", bill.sas_stock_no)
        if now < due:
            result.hold(did, due)
            continue
        result.found.append(Discrepancy(did, "collective_overdue", None, None, None, (bill.sas_stock_no,),
                                        None, None, None, None, {"deadline": due.isoformat(),
                                                                 "moved_at": bill.at.isoformat(),
                                                                 "evidence": [f"stock_bill:{bill.sas_stock_no}"]}))
    return result


@dataclass(frozen=True)
class LocatedStock:
    """WMS stock of one ledger line in one location / lot, declared unit."""

    bws_no: str
    gds_seqno: int
    gds_mtno: str
    location: str
    lot: str | None
    qty: Decimal
    last_occurred_at: datetime
    bonded_ledger: bool = True  # the ledger line belongs to the bonded 物流账册


def bonded_status(stock: list[LocatedStock], now: datetime, settings: CompareSection) -> RuleResult:
    """Non-bonded location or lot on a bonded ledger line, and bonded stock on a non-bonded one."""
    result = RuleResult()
    for s in sorted(stock, key=lambda x: (x.bws_no, x.gds_seqno, x.location, x.lot or "")):
        non_bonded = any(fnmatch.fnmatchcase(p_value, pattern) for pattern in settings.non_bonded_locations
                         for p_value in (s.location, s.lot or ""))
        if s.qty == 0 or non_bonded != s.bonded_ledger:
            continue
        did = discrepancy_id("bonded_status_mismatch", s.bws_no, s.gds_seqno, s.location, s.lot)
        if held(result, did, s.last_occurred_at, now, settings.balance_grace_hours):
            continue
        result.found.append(Discrepancy(
            did, "bonded_status_mismatch", s.bws_no, s.gds_seqno, s.gds_mtno, (), Decimal(0), s.qty, s.qty, None,
            {"location": s.location, "lot": s.lot, "location_status": "non-bonded" if non_bonded else "bonded",
             "ledger": "bonded" if s.bonded_ledger else "non-bonded"}))
    return result
