"""C9 核销 (write-off, GAC 2024 No. 174): period identity on both sides, closing stock, filing deadline.

Per ledger line and period: opening + in − out = closing must hold on the ledger side and on the WMS
side; the closing figures are reported in the vocabulary of the 核销 filing (`vclrPridInitQty`,
`vrfaddQty`, `vrfredQty`, `shdRemainQty`, `actlRemainQty`, `dsmlQty`, `dsmlRate`). The filing is due
`writeoff_filing_days` (60) after the period ends; `writeoff_warning_days` before that a warning opens
(one per 账册 and period: the filing is per ledger).
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


def closing_report(ledger: PeriodFigures | None, wms: PeriodFigures) -> dict[str, str | None]:
    """One ledger line's closing figures in the words of the 核销 filing (ledger side None: not
    known before customs' write-off approval, EMS221)."""
    shd = None if ledger is None else ledger.closing
    dsml = None if shd is None else wms.closing - shd
    text = lambda v: None if v is None else format(v, "f")
    return {"vclrPridInitQty": text(ledger and ledger.opening), "vrfaddQty": text(ledger and ledger.increase),
            "vrfredQty": text(ledger and ledger.decrease), "shdRemainQty": text(shd),
            "actlRemainQty": text(wms.closing), "dsmlQty": text(dsml),
            "dsmlRate": None if dsml is None else rate(dsml, shd)}


def imbalance(bws_no: str, gds_seqno: int, start: str, ledger: PeriodFigures | None, wms: PeriodFigures,
              mtno: str | None = None, unit: str | None = None) -> RuleResult:
    """核销不平: opening + in − out ≠ closing, per side whose figures are known."""
    result, report = RuleResult(), closing_report(ledger, wms)
    for side, figures in (("ledger", ledger), ("wms", wms)):
        if figures is not None and figures.gap != 0:
            result.found.append(Discrepancy(
                discrepancy_id("writeoff_imbalance", bws_no, gds_seqno, start, side), "writeoff_imbalance",
                bws_no, gds_seqno, mtno, (), figures.opening + figures.increase - figures.decrease, figures.closing,
                -figures.gap, unit, {"side": side, "period_start": start, **report}))  # expected: what the
            # identity gives; actual: the stated closing; delta = actual − expected
    return result


def writeoff(bws_no: str, gds_seqno: int, period: tuple[datetime, datetime], ledger: PeriodFigures,
             wms: PeriodFigures, now: datetime, settings: CompareSection, filed: bool = False) -> RuleResult:
    """One ledger line's period: the identity on both sides and the filing deadline."""
    label = period[0].date().isoformat()
    result = imbalance(bws_no, gds_seqno, label, ledger, wms)
    return result.extend(filing_due(bws_no, period, now, settings, filed, closing_report(ledger, wms)))


def filing_deadline(period: tuple[datetime, datetime], s: CompareSection) -> datetime:
    return period[1] + timedelta(days=s.writeoff_filing_days)


def warning_from(period: tuple[datetime, datetime], s: CompareSection) -> datetime:
    """When the 超期未核销 warning of a period opens (never before the period ends)."""
    return max(filing_deadline(period, s) - timedelta(days=s.writeoff_warning_days), period[1])


def filing_due(bws_no: str, period: tuple[datetime, datetime], now: datetime, s: CompareSection, filed: bool,
               details: dict, hold: bool = True) -> RuleResult:
    """超期未核销: the period has ended and the ledger's 报核 is not filed; a warning opens
    `writeoff_warning_days` before the deadline (held until then). Whether it is overdue follows from
    `filing_due` (not stored: a finding's figures do not change with the clock alone). `hold` False:
    the caller wakes itself at the warning instant (`warning_from`) instead of holding an id."""
    result = RuleResult()
    if filed:
        return result
    due, warn_from = filing_deadline(period, s), warning_from(period, s)
    did = discrepancy_id("writeoff_due", bws_no, period[0].date().isoformat())
    if now < warn_from:  # the period still open, or the deadline not yet near: look again then
        result.hold(did, warn_from) if hold else None
        return result
    result.found.append(Discrepancy(
        did, "writeoff_due", bws_no, None, None, (), None, None, None, None,
        {"period_start": period[0].date().isoformat(), "period_end": period[1].date().isoformat(),
         "filing_due": due.isoformat(), **details}))
    return result
