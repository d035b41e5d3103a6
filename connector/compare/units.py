"""Evaluation units: which keys a tick must look at, and the rules run over each unit's inputs.

A unit is the smallest set of inputs a group of rules reads; each discrepancy kind+key is produced
by exactly one unit, so re-evaluating a unit decides every discrepancy it owns:
  doc|D      C2/C8 by document reference D (企业内部编号)
  noref|M    C2 for movements of 料号 M without a reference (time-window match)
  line|B|S   C1 balance of ledger line (账册号 B, 商品序号 S)
  list|L, gate|P, bill|S   C3/C8, C4 and C6 over the declarations (units_gate.py)
A full rebuild evaluates every unit with set-based loads; a tick only the dirty ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection

from connector.compare import load, units_gate, units_wms
from connector.compare.rules import balance_one, movement_vs_list, unreferenced
from connector.compare.rules.base import RuleResult, within_window
from connector.compare.rules.unreferenced import candidates
from connector.compare.settings import CompareSection
from connector.model import Discrepancy


@dataclass
class Units:
    docs: set[str] = field(default_factory=set)
    norefs: set[str] = field(default_factory=set)
    lines: set[tuple[str, int]] = field(default_factory=set)
    lists: set[str] = field(default_factory=set)
    gates: set[str] = field(default_factory=set)
    bills: set[str] = field(default_factory=set)
    more: set[str] = field(default_factory=set)  # whole keys of the units in units_wms.py (vehicle|, place|, wo|)

    def keys(self) -> set[str]:
        return ({f"doc|{d}" for d in self.docs} | {f"noref|{m}" for m in self.norefs}
                | {f"line|{b}|{s}" for b, s in self.lines} | {f"list|{x}" for x in self.lists}
                | {f"gate|{x}" for x in self.gates} | {f"bill|{x}" for x in self.bills} | self.more)

    def add_key(self, key: str) -> None:
        kind, _, rest = key.partition("|")
        if kind == "line":
            b, _, s = rest.rpartition("|")
            self.lines.add((b, int(s)))
        elif kind in SETS:
            getattr(self, SETS[kind]).add(rest)
        elif kind in units_wms.KINDS:
            self.more.add(key)

    def __bool__(self) -> bool:
        return bool(self.docs or self.norefs or self.lines or self.lists or self.gates or self.bills or self.more)


SETS = {"doc": "docs", "noref": "norefs", "list": "lists", "gate": "gates", "bill": "bills"}


@dataclass
class Outcome:
    found: list[tuple[Discrepancy, str]] = field(default_factory=list)
    held: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # id -> (unit key, due)

    def take(self, result: RuleResult, unit_key: str) -> None:
        self.found += [(d, unit_key) for d in result.found]
        self.held.update({did: (unit_key, due) for did, due in result.due.items()})


def evaluate(conn: Connection, units: Units | None, settings: CompareSection, now: datetime,
             as_of: datetime | None = None, balances: dict | None = None, screened: dict | None = None) -> Outcome:
    """Run every rule over the units (None = all); `balances` overrides the stored WMS balances;
    `screened` (a rebuild, units None): per unit kind the keys the screen could not clear."""
    out, cache, scope = Outcome(), {}, screened or {}
    pick = (lambda kind: scope[kind]() if kind in scope else None) if units is None else \
        (lambda kind: getattr(units, kind))
    later = None
    if units is None and "docs" in scope:  # a rebuild: the screened documents' rows are read by the
        docs, moved_docs = scope["docs"]()  # query children while the other rules run, then compared
        found = scope["doc_rows"](docs)
        later = partial(_documents, conn, out, set(docs), settings, now, as_of, docs, moved_docs, found)
    else:
        _documents(conn, out, pick("docs"), settings, now, as_of)
    _unreferenced(conn, out, pick("norefs"), settings, now, as_of)
    _balances(conn, out, pick("lines"), settings, now, as_of, balances() if callable(balances) else balances)
    units_gate.evaluate_lists(conn, out, pick("lists"), settings, now, as_of, cache)
    units_gate.evaluate_gates(conn, out, pick("gates"), settings, as_of, cache)
    units_gate.evaluate_bills(conn, out, pick("bills"), settings, now, as_of)
    units_wms.evaluate(conn, out, None if units is None else units.more, settings, now, as_of)
    if later is not None:
        later()
    return out


def _documents(conn, out: Outcome, docs, settings: CompareSection, now: datetime, as_of,
               items: dict | None = None, moved_docs: set[str] = frozenset(), found: dict | None = None) -> None:
    """`items`: per document the 料号 to load (None: all); `moved_docs`: documents some movement
    names even where those items were not loaded (their lists are not orphans); `found`: the
    `load.wanted_queries` results, called for their rows."""
    if docs is not None and not docs:
        return
    moved, declared = defaultdict(list), defaultdict(list)
    for w in load.doc_items(conn, docs, as_of, items, found["entries"]() if found else None):
        moved[w.doc_ref].append(w)
    for line in load.list_items(conn, docs, as_of, items, found["lists"]() if found else None):
        declared[line.etps_inner_invt_no].append(line)
    covered = _covered_orphans(conn, set(moved) | moved_docs, declared, settings, as_of)
    for doc in sorted(set(moved) | set(declared)):
        out.take(movement_vs_list(moved.get(doc, []), declared.get(doc, []), now, settings, covered), f"doc|{doc}")


def _covered_orphans(conn, moved, declared, settings: CompareSection, as_of) -> set[tuple[str, str]]:
    """(document, 料号) of orphan lists an unreferenced movement could cover: not 有单无货 here."""
    orphans = [x for doc, lines in declared.items() if doc not in moved for x in lines if not x.void]
    if not orphans:
        return set()
    window = timedelta(seconds=float(settings.unreferenced_window_hours * 3600))
    lines = defaultdict(list)
    for line in sorted(load.noref_lines(conn, {o.gds_mtno for o in orphans}, as_of), key=lambda x: x.occurred_at):
        lines[line.gds_mtno].append(line)
    timed = {m: (found, [x.occurred_at for x in found]) for m, found in lines.items()}
    near = lambda o: within_window(*timed.get(o.gds_mtno, ([], [])), o.declared_at, window)  # noqa: E731
    return {(o.etps_inner_invt_no, o.gds_mtno) for o in orphans
            if any(candidates(x, o, window) for x in near(o) if x.qty != 0)}


def _unreferenced(conn, out: Outcome, items, settings: CompareSection, now: datetime, as_of) -> None:
    if items is not None and not items:
        return
    lines = defaultdict(list)
    for line in load.noref_lines(conn, items, as_of):
        lines[line.gds_mtno].append(line)
    orphans = defaultdict(list)
    for listed in load.orphan_lists(conn, set(lines), as_of) if lines else []:
        orphans[listed.gds_mtno].append(listed)
    for mtno in sorted(lines):
        out.take(unreferenced(lines[mtno], orphans.get(mtno, []), now, settings), f"noref|{mtno}")


def _balances(conn, out: Outcome, keys, settings: CompareSection, now: datetime, as_of, balances) -> None:
    if keys is not None and not keys:
        return
    ledger = load.ledger_states(conn, keys, as_of)
    stock = balances if balances is not None else load.stored_balances(conn, None if keys is None else set(ledger))
    for key in sorted(ledger):
        result = RuleResult()
        balance_one(result, ledger[key], stock.get(key), now, settings)
        out.take(result, f"line|{key[0]}|{key[1]}")
