"""C2 movement ↔ 核注清单 line by document reference, with C8 "list rejected but goods moved".

Per document (企业内部编号 `etpsInnerInvtNo` = WMS document reference): items on both sides are
compared (direction, unit, quantity); items only on one side pair up as 料号不符 when the other side
also has a lone item, else they are 无单出入 / 有单无货. A document whose lists were all rejected or
deleted but whose goods moved is 状态不一致 (C8). Movements without a reference are matched by item,
direction and time window in `unreferenced.py`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from connector.compare.rules.base import ZERO, RuleResult, discrepancy_id, held
from connector.compare.rules.inputs import ListItem, WmsDocItem
from connector.compare.settings import CompareSection, within_tolerance
from connector.model import Discrepancy


def movement_vs_list(wms: list[WmsDocItem], lists: list[ListItem], now: datetime, settings: CompareSection,
                     covered_elsewhere: set[tuple[str, str]] = frozenset()) -> RuleResult:
    """`covered_elsewhere`: (document, 料号) of lists an unreferenced movement may cover (not 有单无货)."""
    result = RuleResult()
    for w in wms:
        if w.doc_ref is None:
            _missing(result, w, now, settings, ("no-doc", *w.line_keys))
    docs: dict[str, tuple[dict, list]] = defaultdict(lambda: ({}, []))
    for w in wms:
        if w.doc_ref is not None:
            docs[w.doc_ref][0][w.gds_mtno] = w
    for line in lists:
        docs[line.etps_inner_invt_no][1].append(line)
    for doc in sorted(docs):
        moved, declared = docs[doc]
        _document(result, doc, moved, declared, now, settings, covered_elsewhere)
    return result


def _document(result: RuleResult, doc: str, moved: dict[str, WmsDocItem], declared: list[ListItem],
              now: datetime, s: CompareSection, covered: set) -> None:
    active = sum_lists([line for line in declared if not line.void])
    if moved and not active and any(line.void for line in declared):
        _rejected_but_moved(result, doc, moved, [line for line in declared if line.void], now, s)
        return
    only_wms = sorted(set(moved) - set(active))
    only_list = sorted(set(active) - set(moved))
    for mtno in sorted(set(moved) & set(active)):
        compare_item(result, moved[mtno], active[mtno], now, s)
    while only_wms and only_list and any(moved[m].qty for m in only_wms):
        _item_mismatch(result, moved[only_wms.pop(0)], active[only_list.pop(0)], now, s)
    for mtno in only_wms:
        _missing(result, moved[mtno], now, s, (doc, mtno))
    for mtno in only_list:
        if (doc, mtno) not in covered:
            _unmoved(result, active[mtno], now, s)


def sum_lists(lists: list[ListItem]) -> dict[str, ListItem]:
    """核注清单 lines of one document summed per 料号 (several lists or lines: signed sum)."""
    summed: dict[str, ListItem] = {}
    for line in sorted(lists, key=lambda x: (x.bond_invt_no, x.declared_at)):
        prev = summed.get(line.gds_mtno)
        summed[line.gds_mtno] = line if prev is None else _merge(prev, line)
    return summed


def _merge(a: ListItem, b: ListItem) -> ListItem:
    nos = a.bond_invt_no if b.bond_invt_no in a.bond_invt_no.split(",") else f"{a.bond_invt_no},{b.bond_invt_no}"
    signed = a.signed_qty + b.signed_qty
    return ListItem(nos, a.etps_inner_invt_no, "I" if signed >= 0 else "E", a.putrec_no, a.putrec_seqno,
                    a.gds_mtno, a.unit, abs(signed), max(a.declared_at, b.declared_at),
                    a.evidence + b.evidence)


def _refs(listed: ListItem) -> tuple[str, ...]:
    return (listed.etps_inner_invt_no, *listed.bond_invt_no.split(","))


def _found(result: RuleResult, kind: str, key: tuple, w: WmsDocItem | None, listed: ListItem | None,
           expected: Decimal, actual: Decimal, details: dict, did: str | None = None) -> None:
    base = w or listed
    ledger_no = w.bws_no if w else listed.putrec_no
    seq = w.gds_seqno if w else listed.putrec_seqno
    evidence = (w.evidence if w else ()) + (listed.evidence if listed else ())
    result.found.append(Discrepancy(
        did or discrepancy_id(kind, *key), kind, ledger_no, seq, base.gds_mtno,
        _refs(listed) if listed else tuple(filter(None, [w.doc_ref])), expected_qty=expected, actual_qty=actual,
        delta_qty=actual - expected, unit=w.unit if w else listed.unit, details={**details, "evidence": list(evidence)}))


def _missing(result: RuleResult, w: WmsDocItem, now: datetime, s: CompareSection, key: tuple) -> None:
    if w.qty == 0 or held(result, discrepancy_id("missing_list", *key), w.last_occurred_at, now,
                          s.movement_grace_hours):
        return
    _found(result, "missing_list", key, w, None, ZERO, w.qty,
           {"wms_lines": list(w.line_keys), "last_movement_at": w.last_occurred_at.isoformat()})


def _unmoved(result: RuleResult, listed: ListItem, now: datetime, s: CompareSection) -> None:
    key = (listed.etps_inner_invt_no, listed.gds_mtno)
    if held(result, discrepancy_id("list_without_movement", *key), listed.declared_at, now, s.list_grace_hours):
        return
    _found(result, "list_without_movement", key, None, listed, listed.signed_qty, ZERO,
           {"impexpMarkcd": listed.impexp_markcd, "declared_at": listed.declared_at.isoformat()})


def compare_item(result: RuleResult, w: WmsDocItem, listed: ListItem, now: datetime, s: CompareSection) -> None:
    """One document item on both sides: direction first, then unit, then quantity."""
    key = (listed.etps_inner_invt_no, listed.gds_mtno)
    details = {"impexpMarkcd": listed.impexp_markcd, "wms_lines": list(w.line_keys)}
    if w.qty * listed.signed_qty < 0:
        kind = "direction_mismatch"
    elif listed.unit and listed.unit != w.unit:
        kind, details["list_unit"], details["mapped_unit"] = "unit_mismatch", listed.unit, w.unit
    else:
        delta = w.qty - listed.signed_qty
        if within_tolerance(delta, listed.signed_qty, s.tolerance_for(w.bws_no, w.gds_seqno, w.gdecd)):
            return
        kind = "quantity_mismatch"
    did = discrepancy_id(kind, *key)
    if not held(result, did, w.last_occurred_at, now, s.movement_grace_hours):
        _found(result, kind, key, w, listed, listed.signed_qty, w.qty, details, did)


def _item_mismatch(result: RuleResult, w: WmsDocItem, listed: ListItem, now: datetime, s: CompareSection) -> None:
    key = (listed.etps_inner_invt_no, w.gds_mtno, listed.gds_mtno)
    moment = max(w.last_occurred_at, listed.declared_at)
    if held(result, discrepancy_id("item_mismatch", *key), moment, now, s.movement_grace_hours):
        return
    _found(result, "item_mismatch", key, w, listed, listed.signed_qty, w.qty,
           {"wms_gdsMtno": w.gds_mtno, "list_gdsMtno": listed.gds_mtno, "wms_lines": list(w.line_keys)})


def _rejected_but_moved(result: RuleResult, doc: str, moved: dict[str, WmsDocItem], void: list[ListItem],
                        now: datetime, s: CompareSection) -> None:
    for mtno, w in sorted(moved.items()):
        if w.qty == 0 or held(result, discrepancy_id("state_mismatch", doc, mtno), w.last_occurred_at, now,
                              s.movement_grace_hours):
            continue
        lists = sorted({v.bond_invt_no for v in void})
        _found(result, "state_mismatch", (doc, mtno), w, None, ZERO, w.qty,
               {"reason": "list rejected or deleted (退单/删单) but goods moved", "lists": lists,
                "wms_lines": list(w.line_keys)})
