"""`connector periods [--period 2025-03] [--ledger NO] [--format table|json]`: the 核销 write-off figures."""

from __future__ import annotations

import json
import sys

from connector.app import with_app

COLUMNS = (("bwsNo", "账册号"), ("gdsSeqno", "序号"), ("gdsMtno", "料号"), ("period_start", "period 核销周期"),
           ("wms_opening", "WMS opening 期初"), ("wms_in", "in 增"), ("wms_out", "out 减"),
           ("actlRemainQty", "actlRemainQty 实际剩余"), ("shdRemainQty", "shdRemainQty 应剩余"),
           ("dsmlQty", "dsmlQty 差异"), ("filing_due", "filing due 报核期限"), ("filed", "filed 已报核"))


def register(sub, late) -> None:
    periods = sub.add_parser("periods", parents=[late],
                             help="核销 write-off figures per ledger line and period (run `compare` first)")
    periods.add_argument("--period", metavar="YYYY-MM[-DD]", help="only the period holding this day")
    periods.add_argument("--ledger", metavar="BWS_NO", help="only this 账册号 (ledger number)")
    periods.add_argument("--format", choices=("table", "json"), default="table")
    periods.set_defaults(handler=run_periods)


def run_periods(args, loaded) -> int:
    from connector.compare.periods_report import period_start, report

    def work(app) -> int:
        settings = app.config.compare
        try:
            start = period_start(args.period, settings) if args.period else None
        except ValueError:
            print(f"connector: --period {args.period}: expected YYYY-MM or YYYY-MM-DD", file=sys.stderr)
            return 2
        with app.store.read() as conn:
            rows = report(conn, settings, start, args.ledger)
        print(json.dumps(rows, indent=2, ensure_ascii=False) if args.format == "json" else table(rows))
        return 0

    return with_app(loaded, work)


def table(rows: list[dict]) -> str:
    if not rows:
        return "no period figures (none recorded yet: run `connector compare` after a sync)"
    cells = [[name for _, name in COLUMNS]] + [["-" if r[k] is None else str(r[k]) for k, _ in COLUMNS] for r in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)) for row in cells)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
