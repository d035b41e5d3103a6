"""C9 write-off evaluation unit `wo|B` (账册 B): every ledger line of B over every 核销 period.

Inputs: the WMS period sums of B (`compare_periods`, or summed from the entries for `--as-of`) and
customs' write-off approvals of B (EMS221: `writeoffs` heads, `writeoff_lines` per 商品序号; a head's
`chgoff_begin_time` names its period; of several filings the highest `chgoff_tms_cnt` counts).
- WMS side: opening (earlier periods) + in − out; its closing is `actlRemainQty`, the actual stock to
  file — when an approval exists, the filed `actlRemainQty` is the closing the identity is checked on;
- ledger side (only known from an approval): `vclrPridInitQty` + `vrfaddQty` − `vrfredQty` vs
  `shdRemainQty`;
- 超期未核销 per period since B's first movement (and not before `writeoff_since`, the first period
  customs set for the site; unset: no filing warnings), until an approval for it is stored.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Connection, select

from connector.compare import periods_store
from connector.compare.load import chunks
from connector.compare.rules.base import RuleResult
from connector.compare.rules.periods import CUSTOMS_ZONE
from connector.compare.rules.writeoff import (
    PeriodFigures,
    filing_due,
    imbalance,
    period_of,
    warning_from,
)
from connector.compare.settings import CompareSection
from connector.store.tables_messages import writeoff_lines as WL
from connector.store.tables_messages import writeoffs as WO

ZERO = Decimal(0)
LEDGER_FIELDS = ("vclr_prid_init_qty", "vrfadd_qty", "vrfred_qty", "shd_remain_qty")


def approvals(conn: Connection, ledgers: set[str] | None, s: CompareSection, as_of: datetime | None = None
              ) -> tuple[set[tuple[str, str]], dict[tuple[str, int, str], dict]]:
    """(账册号, period start) filed, and (账册号, 商品序号, period start) -> the approved line's figures."""
    heads = select(WO.c.ems_no, WO.c.chgoff_tms_cnt, WO.c.chgoff_begin_time).where(WO.c.chgoff_begin_time.is_not(None))
    if as_of is not None:
        heads = heads.where(WO.c.updated_at <= as_of)
    found = conn.execute(heads).all() if ledgers is None else [
        r for part in chunks(ledgers) for r in conn.execute(heads.where(WO.c.ems_no.in_(part)))]
    latest: dict[tuple[str, str], int] = {}
    for ems, tms, begin in found:
        key = (ems, period_of(begin, s)[0].date().isoformat())
        latest[key] = max(latest.get(key, tms), tms)
    return set(latest), _approved_lines(conn, {(ems, tms): start for (ems, start), tms in latest.items()})


def _approved_lines(conn: Connection, wanted: dict[tuple[str, int], str]) -> dict[tuple[str, int, str], dict]:
    """The lines of the counted approvals, keyed by (账册号, 商品序号, period start)."""
    cols = [WL.c[name] for name in (*LEDGER_FIELDS, "actl_remain_qty")]
    query = select(WL.c.ems_no, WL.c.chgoff_tms_cnt, WL.c.seqno, WL.c.typecd, *cols).order_by(WL.c.typecd.desc())
    lines = {}
    for part in chunks({ems for ems, _ in wanted}):
        for r in conn.execute(query.where(WL.c.ems_no.in_(part))):
            if (r.ems_no, r.chgoff_tms_cnt) in wanted:
                lines[(r.ems_no, int(r.seqno), wanted[(r.ems_no, r.chgoff_tms_cnt)])] = r._mapping
    return lines


def evaluate(conn: Connection, out, ledgers: set[str] | None, s: CompareSection, now: datetime,
             as_of: datetime | None) -> None:
    if ledgers is not None and not ledgers:
        return
    periods_store.finish(conn)  # a rebuild's sums, computed while the other rules ran
    sums = periods_store.sums(conn, s, ledgers, as_of) if as_of is not None else periods_store.stored(conn, ledgers)
    filed, approved = approvals(conn, ledgers, s, as_of)
    per_ledger: dict[str, RuleResult] = defaultdict(RuleResult)
    first: dict[str, str] = {}
    lines = periods_store.by_line(sums)
    named = periods_store.items(conn, set(lines))
    for (bws, seq), periods in lines.items():
        first[bws] = min(first.get(bws, periods[0][0]), periods[0][0])
        _line(per_ledger[bws], bws, seq, dict(periods), approved, named.get((bws, seq), (None, None)))
    for bws in sorted(first) if s.writeoff_since is not None else ():
        since = period_of(datetime.combine(s.writeoff_since, time(12), CUSTOMS_ZONE), s)[0].date().isoformat()
        for period in _periods_until(max(first[bws], since), now, s):
            start = period[0].date().isoformat()
            per_ledger[bws].extend(filing_due(bws, period, now, s, (bws, start) in filed, {}, hold=False))
    for bws in sorted(per_ledger):
        out.take(per_ledger[bws], f"wo|{bws}")


def _line(result: RuleResult, bws: str, seq: int, periods: dict[str, list], approved: dict, named: tuple) -> None:
    """One ledger line: the identity per period with WMS movements or an approval."""
    starts = sorted(set(periods) | {p for (b, q, p) in approved if (b, q) == (bws, seq)})
    opening = ZERO
    for start in starts:
        _, qty_in, qty_out = periods.get(start, [None, ZERO, ZERO])
        line = approved.get((bws, seq, start))
        closing = opening + qty_in - qty_out
        filed_actual = _dec(line, "actl_remain_qty")
        wms = PeriodFigures(opening, qty_in, qty_out, closing if filed_actual is None else filed_actual)
        result.extend(imbalance(bws, seq, start, _ledger(line), wms, *named))
        opening = closing


def _ledger(line) -> PeriodFigures | None:
    figures = [_dec(line, name) for name in LEDGER_FIELDS] if line is not None else [None]
    return None if any(f is None for f in figures) else PeriodFigures(*figures)


def _dec(line, name: str) -> Decimal | None:
    return None if line is None or line[name] is None else Decimal(line[name])


def _periods_until(first: str, now: datetime, s: CompareSection) -> list[tuple[datetime, datetime]]:
    """Every period from the one starting on `first` through the one holding `now`."""
    period = period_of(datetime.fromisoformat(first).replace(tzinfo=CUSTOMS_ZONE), s)
    found = [period]
    while period[1] <= now:
        period = period_of(period[1], s)
        found.append(period)
    return found



def woken(last: datetime | None, now: datetime, s: CompareSection) -> bool:
    """True when a period's warning instant passed since the last tick (every `wo|` unit is then
    looked at again: periods are the same for every ledger, so this happens once a period)."""
    if last is None or now <= last or s.writeoff_since is None:
        return False
    period = period_of(last - timedelta(days=s.writeoff_filing_days + 1), s)
    while period[0] <= now:
        if last < warning_from(period, s) <= now:
            return True
        period = period_of(period[1], s)
    return False
