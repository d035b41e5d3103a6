"""`connector periods`: each ledger line's 核销 (write-off) period figures, in the filing's words.

Read from the period sums the comparator keeps (`compare_periods`), customs' ledger lines (料号 and
unit) and write-off approvals (EMS221): per (账册号, 商品序号, period) the WMS side — opening, in, out,
closing = `actlRemainQty`, the actual stock to file — and, once approved, the ledger side
(`vclrPridInitQty`, `vrfaddQty`, `vrfredQty`, `shdRemainQty`) with `dsmlQty` / `dsmlRate`, the
filing deadline and whether it is filed.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import Connection

from connector.compare import periods_store
from connector.compare.rules.base import rate
from connector.compare.rules.periods import CUSTOMS_ZONE
from connector.compare.rules.writeoff import filing_deadline, period_of
from connector.compare.settings import CompareSection
from connector.compare.units_periods import LEDGER_FIELDS, approvals

ZERO = Decimal(0)
NAMES = dict(zip(LEDGER_FIELDS, ("vclrPridInitQty", "vrfaddQty", "vrfredQty", "shdRemainQty"), strict=True))


def period_start(text: str, s: CompareSection) -> str:
    """The start (local date) of the period holding a `YYYY-MM` or `YYYY-MM-DD` day."""
    day = datetime.fromisoformat(text + "-01" if len(text) == 7 else text).date()
    return period_of(datetime.combine(day, time(12), CUSTOMS_ZONE), s)[0].date().isoformat()


def report(conn: Connection, s: CompareSection, period: str | None = None, ledger: str | None = None) -> list[dict]:
    """One row per ledger line and period (`period`: a period start date; `ledger`: one 账册号)."""
    ledgers = None if ledger is None else {ledger}
    sums = periods_store.stored(conn, ledgers)
    filed, approved = approvals(conn, ledgers, s)
    rows, lines = [], periods_store.by_line(sums)
    named = periods_store.items(conn, set(lines))
    for (bws, seq), periods in lines.items():
        opening, (mtno, unit) = ZERO, named.get((bws, seq), (None, None))
        for start, (end, qty_in, qty_out) in periods:
            closing = opening + qty_in - qty_out
            if period is None or start == period:
                rows.append(_row(bws, seq, start, end, mtno, unit, (opening, qty_in, qty_out, closing),
                                 approved.get((bws, seq, start)), (bws, start) in filed, s))
            opening = closing
    return rows


def _row(bws: str, seq: int, start: str, end: str, mtno: str | None, unit: str | None, wms: tuple, line, filed: bool,
         s: CompareSection) -> dict:
    ledger = {NAMES[k]: _text(None if line is None or line[k] is None else Decimal(line[k])) for k in LEDGER_FIELDS}
    shd = None if ledger["shdRemainQty"] is None else Decimal(ledger["shdRemainQty"])
    dsml = None if shd is None else wms[3] - shd
    due = filing_deadline(period_of(datetime.combine(datetime.fromisoformat(start).date(), time(12), CUSTOMS_ZONE),
                                    s), s)
    return {"bwsNo": bws, "gdsSeqno": seq, "gdsMtno": mtno, "unit": unit, "period_start": start, "period_end": end,
            "wms_opening": _text(wms[0]), "wms_in": _text(wms[1]), "wms_out": _text(wms[2]),
            "actlRemainQty": _text(wms[3]), **ledger, "dsmlQty": _text(dsml),
            "dsmlRate": None if dsml is None else rate(dsml, shd), "filing_due": due.date().isoformat(),
            "filed": filed}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")
