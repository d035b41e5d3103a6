"""C9 write-off periods: the WMS side per ledger line and 核销 period, kept in `compare_periods`.

Each ledger entry counts in the period holding its `occurred_at` (periods from `period_of`, in
Asia/Shanghai): direction I entries (and their reversals) in `in_qty`, direction E ones in `out_qty`,
so revisions net out on the side they were posted. A rebuild sums every entry in SQL grouped by
(ledger line, direction, quantity text) per period — exact: the quantity text times its count, in
Decimal — and a tick adds only the new entries. Opening and closing follow by summing earlier periods.
Changing `writeoff_period_*` needs `connector compare --rebuild`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Connection, bindparam, func, select

from connector.compare import screen
from connector.compare.load import canonical, chunks, raw
from connector.compare.rules.inputs import WmsBalance
from connector.compare.rules.writeoff import period_of
from connector.compare.settings import CompareSection
from connector.store.tables import ledger_entries as E
from connector.store.tables import ledger_lines as LL
from connector.store.tables_compare_periods import compare_periods as CP
from connector.store.types import DecimalText

ZERO = Decimal(0)
T = datetime.fromisoformat


def _starts(lo: datetime, hi: datetime, s: CompareSection) -> list[tuple[datetime, datetime]]:
    periods = [period_of(lo, s)]
    while periods[-1][1] <= hi:
        periods.append(period_of(periods[-1][1], s))
    return periods


def _label(at: datetime) -> str:
    return at.date().isoformat()


def sums(conn: Connection, s: CompareSection, ledgers: set[str] | None = None,
         as_of: datetime | None = None) -> dict[tuple[str, int, str], list]:
    """(账册号, 商品序号, period start) -> [end, in, out] from the entries: one grouped query per period,
    in the order of the ledger-line index (read alone, never sorted), counting each quantity text."""
    where = [E.c.bws_no.in_(sorted(ledgers))] if ledgers is not None else []
    if as_of is not None:
        where += [E.c.created_at <= as_of, E.c.occurred_at <= as_of]
    lo, hi = conn.execute(select(func.min(E.c.occurred_at), func.max(E.c.occurred_at)).where(*where)).one()
    if lo is None:
        return {}
    periods = _starts(lo, hi, s)
    query = (select(E.c.bws_no, E.c.gds_seqno, E.c.direction, raw(E.c.dcl_qty), func.count())
             .group_by(E.c.bws_no, E.c.gds_seqno, E.c.direction, raw(E.c.dcl_qty)))
    out: dict[tuple[str, int, str], list] = {}
    for start, end in periods:
        inside = [] if len(periods) == 1 else [E.c.occurred_at >= start, E.c.occurred_at < end]
        for bws, seq, direction, qty, n in conn.execute(query.where(*where, *inside)):
            _add(out, (bws, seq, _label(start)), _label(end), direction, Decimal(qty) * n)
    return out


def _add(out: dict, key: tuple, end: str, direction: str, qty: Decimal) -> None:
    row = out.setdefault(key, [end, ZERO, ZERO])
    if direction == "I":
        row[1] += qty
    else:
        row[2] -= qty


PERIOD_SQL = ("SELECT bws_no, gds_seqno, direction, dcl_qty, count(*), min(gds_mtno), min(dcl_unitcd), "
              "max(occurred_at) FROM ledger_entries INDEXED BY ix_ledger_entries_item WHERE id <= ?{} "
              "GROUP BY bws_no, gds_seqno, direction, dcl_qty")  # the index holds every column: read alone
PENDING = "compare_periods_pending"  # screen.keep key: (the rebuild's pending sums, the last entry id)


def rebuild(conn: Connection, s: CompareSection) -> None:
    """Recompute `compare_periods`. On a SQLite file the sums run on their own read-only connection
    (screen.run_all) while the other rules run; `finish` writes them before C9 reads the table."""
    conn.execute(CP.delete())
    if conn.dialect.name != "sqlite":
        _write(conn, sums(conn, s))
        return
    upto = conn.execute(select(func.max(E.c.id))).scalar() or 0
    lo, hi = conn.execute(select(func.min(E.c.occurred_at), func.max(E.c.occurred_at))).one()
    periods = _starts(lo, hi, s) if lo is not None else []
    found = screen.run_all(conn, {_label(a): _job(a, b, upto, len(periods) > 1) for a, b in periods}) if periods else {}

    def pending() -> dict[str, tuple[str, list]]:
        return {_label(a): (_label(b), found[_label(a)]()) for a, b in periods}

    screen.keep(conn, PENDING, (pending, upto))


def _job(start: datetime, end: datetime, upto: int, bounded: bool) -> tuple[str, tuple]:
    """The SQL of one period's sums (bounds as the stored text of AwareDateTime)."""
    if not bounded:
        return PERIOD_SQL.format(""), (upto,)
    stamp = [at.astimezone(UTC).isoformat(timespec="microseconds") for at in (start, end)]
    return PERIOD_SQL.format(" AND occurred_at >= ? AND occurred_at < ?"), (upto, *stamp)


def finish(conn: Connection) -> None:
    """Write the sums a rebuild started (nothing when none is pending)."""
    started = screen.kept(conn, PENDING, pop=True)
    if started is None:  # none, or left by a failed rebuild: dropped
        return
    pending, _ = started
    out: dict[tuple[str, int, str], list] = {}
    for start, (end, rows) in pending().items():
        for bws, seq, direction, qty, n, *_ in rows:
            _add(out, (bws, seq, start), end, direction, Decimal(qty) * n)
    _write(conn, out)


def balances(conn: Connection, upto: int) -> dict[tuple[str, int], WmsBalance] | None:
    """WMS stock per ledger line from the sums a rebuild started, when they cover exactly the entries
    up to id `upto` (None otherwise): every period's rows summed again per line, so the rebuild reads
    the entries once for C1 and C9. The same result as `load.balances_from_entries(upto=upto)`."""
    started = screen.kept(conn, PENDING)
    if started is None or started[1] != upto:
        return None
    pending = started[0]
    totals: dict[tuple[str, int], list] = {}
    for _, rows in pending().values():
        for bws, seq, _, qty, n, mtno, unit, last in rows:
            t = totals.setdefault((bws, seq), [mtno, unit, ZERO, last])
            t[0], t[1], t[2], t[3] = min(t[0], mtno), min(t[1], unit), t[2] + Decimal(qty) * n, max(t[3], last)
    return {k: WmsBalance(k[0], k[1], m, u, canonical(q), T(at)) for k, (m, u, q, at) in totals.items()}


def _write(conn: Connection, found: dict[tuple[str, int, str], list]) -> None:
    rows = [_row(key, value) for key, value in found.items()]
    if rows:
        conn.execute(CP.insert(), rows)


def _row(key: tuple, value: list) -> dict:
    return {"bws_no": key[0], "gds_seqno": key[1], "period_start": key[2], "period_end": value[0],
            "in_qty": value[1], "out_qty": value[2]}


def add_entries(conn: Connection, entries: list[tuple], s: CompareSection) -> None:
    """Add new entries (bws, seq, direction, qty text, occurred text) to their periods: one lookup by
    the key's columns (filtered exactly here), one insert and one update statement for all."""
    added: dict[tuple[str, int, str], list] = {}
    for bws, seq, direction, qty, at in entries:
        start, end = period_of(T(at), s)
        _add(added, (bws, seq, _label(start)), _label(end), direction, Decimal(qty))
    stored = {}
    for part in chunks(added):
        query = select(CP).where(CP.c.bws_no.in_({k[0] for k in part}), CP.c.gds_seqno.in_({k[1] for k in part}),
                                 CP.c.period_start.in_({k[2] for k in part}))
        stored.update({k: r for r in conn.execute(query) if (k := (r.bws_no, r.gds_seqno, r.period_start)) in added})
    fresh = [_row(key, value) for key, value in added.items() if key not in stored]
    changed = [{"b_bws": k[0], "b_seq": k[1], "b_start": k[2], "b_in": stored[k].in_qty + v[1],
                "b_out": stored[k].out_qty + v[2]} for k, v in added.items() if k in stored]
    if fresh:
        conn.execute(CP.insert(), fresh)
    if changed:
        conn.execute(CP.update().where(CP.c.bws_no == bindparam("b_bws"), CP.c.gds_seqno == bindparam("b_seq"),
                                       CP.c.period_start == bindparam("b_start"))
                     .values(in_qty=bindparam("b_in", type_=DecimalText()),
                             out_qty=bindparam("b_out", type_=DecimalText())), changed)


def stored(conn: Connection, ledgers: set[str] | None) -> dict[tuple[str, int, str], list]:
    """The kept sums in the shape of `sums` (None = every ledger)."""
    query = select(CP)
    found = conn.execute(query) if ledgers is None else (
        r for part in chunks(ledgers) for r in conn.execute(query.where(CP.c.bws_no.in_(part))))
    return {(r.bws_no, r.gds_seqno, r.period_start): [r.period_end, r.in_qty, r.out_qty] for r in found}


def by_line(periods: dict[tuple[str, int, str], list]) -> dict[tuple[str, int], list[tuple[str, list]]]:
    """Per ledger line its periods in order, each with its [end, in, out]."""
    lines: dict[tuple[str, int], list] = defaultdict(list)
    for (bws, seq, start), value in sorted(periods.items()):
        lines[(bws, seq)].append((start, value))
    return lines


def items(conn: Connection, lines: set[tuple[str, int]]) -> dict[tuple[str, int], tuple[str | None, str | None]]:
    """(账册号, 商品序号) -> (料号, declared unit) as customs' ledger line (BwsDt) states them."""
    query = select(LL.c.bws_no, LL.c.gds_seqno, LL.c.gds_mtno, LL.c.dcl_unitcd)
    ledgers = {b for b, _ in lines}
    return {(b, q): (m, u) for part in chunks(ledgers)
            for b, q, m, u in conn.execute(query.where(LL.c.bws_no.in_(part)))}
