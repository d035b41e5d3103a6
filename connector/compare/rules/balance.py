"""C1 账实相符: each ledger line's balance against the WMS stock mapped to it (declared unit).

The ledger side is the latest ledger-line state customs sent. Its formula is unconfirmed
(DOMAIN.md §1.3), so it is configuration, and both the formal balance and formal ± provisional
(预增/预减) are tried: a WMS stock equal to either is not a difference (documents in flight).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from connector.compare.rules.base import RuleResult, discrepancy_id, held, rate
from connector.compare.rules.inputs import LedgerState, WmsBalance
from connector.compare.settings import CompareSection, within_tolerance
from connector.model import Discrepancy


def formal_balance(line: LedgerState, formula: str) -> Decimal:
    actual = line.actl_inc_qty - line.actl_redc_qty
    return actual if formula == "actual_only" else line.in_qty + actual


def available_balance(line: LedgerState, formula: str) -> Decimal:
    return formal_balance(line, formula) - line.prevd_redc_qty + line.prevd_inc_qty


def balance(wms: dict[tuple[str, int], WmsBalance], ledger: dict[tuple[str, int], LedgerState], now: datetime,
            settings: CompareSection) -> RuleResult:
    result = RuleResult()
    for key, line in sorted(ledger.items()):
        balance_one(result, line, wms.get(key), now, settings)
    return result


def balance_one(result: RuleResult, line: LedgerState, stock: WmsBalance | None, now: datetime,
                s: CompareSection) -> None:
    shd = formal_balance(line, s.balance_formula)
    available = available_balance(line, s.balance_formula)
    actl = stock.qty if stock else Decimal(0)
    tol = s.tolerance_for(line.bws_no, line.gds_seqno)
    if within_tolerance(actl - shd, shd, tol) or within_tolerance(actl - available, available, tol):
        return
    did = discrepancy_id("balance_mismatch", line.bws_no, line.gds_seqno)
    moments = [t for t in (line.qty_changed_at, stock and stock.last_occurred_at) if t is not None]
    if moments and held(result, did, max(moments), now, s.balance_grace_hours):
        return
    dsml = actl - shd
    result.found.append(Discrepancy(
        did, "balance_mismatch", line.bws_no, line.gds_seqno, line.gds_mtno or (stock and stock.gds_mtno),
        (), expected_qty=shd, actual_qty=actl, delta_qty=dsml, unit=line.unit or (stock and stock.unit),
        details={"shdRemainQty": str(shd), "actlRemainQty": str(actl), "dsmlQty": str(dsml),
                 "dsmlRate": rate(dsml, shd), "availableQty": str(available),
                 "ledger_as_of": line.as_of.isoformat(), "evidence": list(line.evidence)}))
