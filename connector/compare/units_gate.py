"""The declaration-side evaluation units (see units.py for the others):
  list|L     C3 核注清单 L ↔ the passports naming it (一票多车, 一车多票), C8 passport voided but moved
  gate|P     C4 gate weight of passport P (totalWt vs weighbridge passCollectWt)
  bill|S     C6 分送集报: 出入库单 S not collectively declared by the deadline
A list unit's inputs are L, the passports naming L, and the lines of the other lists those passports
name; dirty.py dirties it when any of them changes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection

from connector.compare import load, load_gate
from connector.compare.rules.base import RuleResult
from connector.compare.rules.gate import (
    ListLine,
    Passport,
    list_vs_passports,
    voided_but_moved,
    weight_check,
)
from connector.compare.rules.periods import collective_overdue
from connector.compare.settings import CompareSection


def _everything(conn: Connection, as_of: datetime | None, cache: dict) -> tuple[dict, dict]:
    """Every passport link and passport, loaded once per rebuild for C3 and C4."""
    if "all" not in cache:
        linked = load_gate.links(conn, None)
        cache["all"] = linked, load_gate.passports(conn, None, linked, as_of)
    return cache["all"]


def evaluate_lists(conn: Connection, out, lists: set[str] | None, s: CompareSection, now: datetime,
                   as_of: datetime | None, cache: dict) -> None:
    if lists is not None and not lists:
        return
    targets, mine, heads, lines, moved = _list_inputs(conn, lists, as_of, cache)
    for no in sorted(targets):
        result = RuleResult()
        if no in mine and _may_find(no, heads[no][1], mine[no], lines):
            co = sorted({x for p in mine[no] for x in p.lists})
            list_lines = [line for x in co for line in lines.get(x, [])]
            result.extend(list_vs_passports(list_lines, mine[no], now, s, only=no))
            result.extend(voided_but_moved(no, heads[no][0], mine[no], moved.get(heads[no][0], []), now, s))
        out.take(result, f"list|{no}")


def _list_inputs(conn: Connection, lists: set[str] | None, as_of: datetime | None, cache: dict) -> tuple:
    """The lists named by a passport (of `lists`), their live passports, heads, the lines the
    allocation needs, and the movements of documents whose every passport was voided (C8)."""
    linked, passports = _everything(conn, as_of, cache) if lists is None else (load_gate.links(conn, lists), None)
    by_list: dict[str, set[str]] = defaultdict(set)
    for p, nos in linked.items():
        for no in nos:
            by_list[no].add(p)
    targets = set(by_list) if lists is None else lists & set(by_list)
    passports = passports if passports is not None else load_gate.passports(conn, set(linked), linked, as_of)
    needed = {other for no in targets for p in by_list[no] for other in linked[p]}
    heads = load_gate.list_heads(conn, None if lists is None else needed, as_of)
    mine = {no: [passports[p] for p in sorted(by_list[no]) if p in passports] for no in targets if no in heads}
    mine = {no: ps for no, ps in mine.items() if ps and not heads[no][2]}  # a void list: C2/C8 by document
    lines = load_gate.list_lines(conn, heads, _wanted(mine, heads))
    moved = _moved(conn, {heads[no][0] for no, ps in mine.items() if all(p.void for p in ps)}, as_of)
    return targets, mine, heads, lines, moved


def _wanted(mine: dict[str, list[Passport]], heads: dict[str, tuple]) -> dict[str, set[int] | None]:
    """List lines the allocation needs: those a live truck line names (every line of a closed list)."""
    wanted: dict[str, set[int] | None] = {}
    for no, ps in mine.items():
        if heads[no][1]:
            wanted[no] = None
        seqs = {t.rlt_gds_seqno for p in ps if not p.void for t in p.lines}
        for x in {x for p in ps if not p.void for x in p.lists if x in heads}:
            if wanted.get(x, set()) is not None:
                wanted[x] = wanted.get(x, set()) | seqs
    return wanted


def _may_find(no: str, closed: bool, passports: list[Passport], lines: dict[str, list[ListLine]]) -> bool:
    """False only when no finding is possible: some passport live, list not closed, and no line of
    the list below the sum of every live truck line that could be allocated to it."""
    live = [p for p in passports if not p.void]
    if closed or not live:
        return True
    bound: dict[int, Decimal] = defaultdict(Decimal)
    for t in (t for p in live for t in p.lines):
        bound[t.rlt_gds_seqno] += t.dcl_qty
    return any(line.gds_seqno in bound and bound[line.gds_seqno] > line.dcl_qty for line in lines.get(no, []))


def _moved(conn: Connection, docs: set[str | None], as_of: datetime | None) -> dict[str, list]:
    docs.discard(None)
    moved = defaultdict(list)
    for w in load.doc_items(conn, docs, as_of) if docs else ():
        moved[w.doc_ref].append(w)
    return moved


def evaluate_gates(conn: Connection, out, nos: set[str] | None, s: CompareSection, as_of: datetime | None,
                   cache: dict) -> None:
    if nos is not None and not nos:
        return
    passports = _everything(conn, as_of, cache)[1] if nos is None else \
        load_gate.passports(conn, nos, load_gate.links(conn, None, nos), as_of)
    for no in sorted(passports):
        p = passports[no]
        out.take(RuleResult() if p.void else weight_check(p, None, s), f"gate|{no}")


def evaluate_bills(conn: Connection, out, nos: set[str] | None, s: CompareSection, now: datetime,
                   as_of: datetime | None) -> None:
    if nos is not None and not nos:
        return
    for bill in sorted(load_gate.stock_bills(conn, nos, as_of), key=lambda b: b.sas_stock_no):
        out.take(collective_overdue([bill], now, s), f"bill|{bill.sas_stock_no}")
