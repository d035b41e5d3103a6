"""C9 核销 (write-off, GAC 2024 No. 174): period identity on both sides, closing stock, filing deadline.

Per ledger line and period: opening + in − out = closing must hold on the ledger side and on the WMS
side; the closing figures are reported in the vocabulary of the 核销 filing (`vclrPridInitQty`,
`vrfaddQty`, `vrfredQty`, `shdRemainQty`, `actlRemainQty`, `dsmlQty`, `dsmlRate`). The filing is due
`writeoff_filing_days` (60) after the period ends; `writeoff_warning_days` before that a warning opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from connector.compare.rules.base import RuleResult, discrepancy_id, rate
from connector.compare.rules.periods import CUSTOMS_ZONE
from connector.compare.settings import CompareSection
from connector.model import Discrepancy


def period_of(moment: datetime, s: CompareSection) -> tuple[datetime, datetime]:
    """The write-off period [start, end) holding `moment` (periods start on `writeoff_period_start`)."""
    month, day = (int(x) for x in s.writeoff_period_start.split("-"))
    local = moment.astimezone(CUSTOMS_ZONE)
    start = datetime(local.year - 1, month, day, tzinfo=CUSTOMS_ZONE)
    while _add_months(start, s.writeoff_period_months) <= local:
        start = _add_months(start, s.writeoff_period_months)
    return start, _add_months(start, s.writeoff_period_months)


def _add_months(at: datetime, months: int) -> datetime:
    total = at.month - 1 + months
    return at.replace(year=at.year + total // 12, month=total % 12 + 1)


@dataclass(frozen=True)
class PeriodFigures:
    opening: Decimal
    increase: Decimal
    decrease: Decimal
    closing: Decimal

    @property
    def gap(self) -> Decimal:
        return self.opening + self.increase - self.decrease - self.closing


def closing_report(ledger: PeriodFigures, wms: PeriodFigures) -> dict[str, str | None]:
    """One ledger line's closing figures in the words of the 核销 filing."""
    dsml = wms.closing - ledger.closing
    return {"vclrPridInitQty": str(ledger.opening), "vrfaddQty": str(ledger.increase),
            "vrfredQty": str(ledger.decrease), "shdRemainQty": str(ledger.closing),
            "actlRemainQty": str(wms.closing), "dsmlQty": str(dsml), "dsmlRate": rate(dsml, ledger.closing)}


def writeoff(bws_no: str, gds_seqno: int, period: tuple[datetime, datetime], ledger: PeriodFigures,
             wms: PeriodFigures, now: datetime, settings: CompareSection, filed: bool = False) -> RuleResult:
    result = RuleResult()
    label = period[0].date().isoformat()
    report = closing_report(ledger, wms)
    for side, figures in (("ledger", ledger), ("wms", wms)):
        if figures.gap != 0:
            result.found.append(Discrepancy(
                discrepancy_id("writeoff_imbalance", bws_no, gds_seqno, label, side), "writeoff_imbalance",
                bws_no, gds_seqno, None, (), figures.closing, figures.opening + figures.increase - figures.decrease,
                -figures.gap, None, {"side": side, "period_start": label, **report}))
    _deadline(result, bws_no, gds_seqno, period, now, settings, filed, report)
    return result


def filing_deadline(period: tuple[datetime, datetime], s: CompareSection) -> datetime:
    return period[1] + timedelta(days=s.writeoff_filing_days)


def _deadline(result: RuleResult, bws_no: str, gds_seqno: int, period: tuple[datetime, datetime],
              now: datetime, s: CompareSection, filed: bool, report: dict) -> None:
    if filed or now < period[1]:
        return
    due = filing_deadline(period, s)
    warn_from = due - timedelta(days=s.writeoff_warning_days)
    did = discrepancy_id("writeoff_due", bws_no, gds_seqno, period[0].date().isoformat())
    if now < warn_from:
        result.hold(did, warn_from)
        return
    result.found.append(Discrepancy(
        did, "writeoff_due", bws_no, gds_seqno, None, (), None, None, None, None,
        {"period_start": period[0].date().isoformat(), "period_end": period[1].date().isoformat(),
         "filing_due": due.isoformat(), "overdue": now >= due, **report}))
