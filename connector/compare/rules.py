"""Comparator rules: pure functions over plain data (Decimal, aware datetimes), no I/O.

Each rule returns the discrepancies it finds and the ids it saw but holds back as "in flight"
(still inside a grace window), so the engine neither reports nor resolves those.
Kinds and their customs names (DOMAIN.md §2.2):
  missing_list          无单出入  a movement no 核注清单 line covers
  list_without_movement 有单无货  a 核注清单 line with no movement
  quantity_mismatch     数量不符  both exist, declared quantities differ
  balance_mismatch      账货差异  ledger balance (shdRemainQty) vs WMS stock (actlRemainQty)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from connector.config.schema import CompareSection
from connector.model import Discrepancy

KIND_LABELS = {
    "missing_list": "无单出入",
    "list_without_movement": "有单无货",
    "quantity_mismatch": "数量不符",
    "balance_mismatch": "账货差异",
}
RATE_PLACES = Decimal("0.00001")


@dataclass(frozen=True)
class WmsDocItem:
    """WMS movements of one document and item, summed in declared units (+ in, - out)."""

    doc_ref: str | None
    bws_no: str
    gds_seqno: int
    gds_mtno: str
    unit: str
    qty: Decimal
    last_occurred_at: datetime
    line_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListItem:
    """核注清单 lines of one list and item (`etpsInnerInvtNo` is the WMS document reference)."""

    bond_invt_no: str
    etps_inner_invt_no: str
    impexp_markcd: str
    putrec_no: str | None
    putrec_seqno: int | None
    gds_mtno: str
    unit: str | None
    dcl_qty: Decimal
    declared_at: datetime

    @property
    def signed_qty(self) -> Decimal:
        return self.dcl_qty if self.impexp_markcd == "I" else -self.dcl_qty


@dataclass(frozen=True)
class LedgerState:
    """The latest ledger line (BwsDt) customs sent for (bwsNo, gdsSeqno)."""

    bws_no: str
    gds_seqno: int
    gds_mtno: str | None
    unit: str | None
    in_qty: Decimal
    actl_inc_qty: Decimal
    actl_redc_qty: Decimal
    prevd_inc_qty: Decimal
    prevd_redc_qty: Decimal
    as_of: datetime  # the receipt or query the state comes from
    qty_changed_at: datetime | None = None  # when its quantities last changed; a fresh copy of
    # unchanged numbers must not put an old difference back in flight


@dataclass(frozen=True)
class WmsBalance:
    bws_no: str
    gds_seqno: int
    gds_mtno: str
    unit: str
    qty: Decimal
    last_occurred_at: datetime


@dataclass
class RuleResult:
    found: list[Discrepancy] = field(default_factory=list)
    in_flight: set[str] = field(default_factory=set)


def discrepancy_id(kind: str, *key: object) -> str:
    text = "|".join([kind, *(str(k) for k in key)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _within(moment: datetime, now: datetime, hours: Decimal) -> bool:
    return now - moment < timedelta(seconds=float(hours * 3600))


def movement_vs_list(wms: list[WmsDocItem], lists: list[ListItem], now: datetime,
                     settings: CompareSection) -> RuleResult:
    """Match WMS documents with 核注清单 lines by document reference and 料号."""
    result = RuleResult()
    by_doc = {(w.doc_ref, w.gds_mtno): w for w in wms if w.doc_ref is not None}
    by_list = _sum_lists(lists)
    for w in wms:
        if w.doc_ref is None:
            _missing(result, w, now, settings, key=("no-doc", *w.line_keys))
        elif (w.doc_ref, w.gds_mtno) not in by_list:
            _missing(result, w, now, settings, key=(w.doc_ref, w.gds_mtno))
    for key, listed in by_list.items():
        w = by_doc.get(key)
        if w is None:
            _unmoved(result, listed, now, settings)
        else:
            _compare_qty(result, w, listed, now, settings)
    return result


def _sum_lists(lists: list[ListItem]) -> dict[tuple[str, str], ListItem]:
    summed: dict[tuple[str, str], ListItem] = {}
    for line in lists:
        key = (line.etps_inner_invt_no, line.gds_mtno)
        prev = summed.get(key)
        summed[key] = line if prev is None else _merge(prev, line)
    return summed


def _merge(a: ListItem, b: ListItem) -> ListItem:
    nos = a.bond_invt_no if b.bond_invt_no in a.bond_invt_no.split(",") else f"{a.bond_invt_no},{b.bond_invt_no}"
    signed = a.signed_qty + b.signed_qty
    return ListItem(nos, a.etps_inner_invt_no, "I" if signed >= 0 else "E", a.putrec_no, a.putrec_seqno,
                    a.gds_mtno, a.unit, abs(signed), max(a.declared_at, b.declared_at))


def _missing(result: RuleResult, w: WmsDocItem, now: datetime, s: CompareSection, key: tuple) -> None:
    if w.qty == 0:
        return
    did = discrepancy_id("missing_list", *key)
    if _within(w.last_occurred_at, now, s.movement_grace_hours):
        result.in_flight.add(did)
        return
    result.found.append(Discrepancy(
        did, "missing_list", w.bws_no, w.gds_seqno, w.gds_mtno, tuple(filter(None, [w.doc_ref])),
        expected_qty=Decimal(0), actual_qty=w.qty, delta_qty=w.qty, unit=w.unit,
        details={"wms_lines": list(w.line_keys), "last_movement_at": w.last_occurred_at.isoformat()}))


def _unmoved(result: RuleResult, listed: ListItem, now: datetime, s: CompareSection) -> None:
    did = discrepancy_id("list_without_movement", listed.etps_inner_invt_no, listed.gds_mtno)
    if _within(listed.declared_at, now, s.list_grace_hours):
        result.in_flight.add(did)
        return
    result.found.append(Discrepancy(
        did, "list_without_movement", listed.putrec_no, listed.putrec_seqno, listed.gds_mtno,
        (listed.etps_inner_invt_no, *listed.bond_invt_no.split(",")), expected_qty=listed.signed_qty,
        actual_qty=Decimal(0), delta_qty=-listed.signed_qty, unit=listed.unit,
        details={"impexpMarkcd": listed.impexp_markcd, "declared_at": listed.declared_at.isoformat()}))


def _compare_qty(result: RuleResult, w: WmsDocItem, listed: ListItem, now: datetime, s: CompareSection) -> None:
    delta = w.qty - listed.signed_qty
    if abs(delta) <= s.qty_tolerance:
        return
    did = discrepancy_id("quantity_mismatch", listed.etps_inner_invt_no, listed.gds_mtno)
    if _within(w.last_occurred_at, now, s.movement_grace_hours):
        result.in_flight.add(did)
        return
    details = {"impexpMarkcd": listed.impexp_markcd, "wms_lines": list(w.line_keys)}
    if listed.unit and listed.unit != w.unit:
        details["unit_note"] = f"list unit {listed.unit} differs from mapped unit {w.unit}"
    result.found.append(Discrepancy(
        did, "quantity_mismatch", w.bws_no, w.gds_seqno, w.gds_mtno,
        (listed.etps_inner_invt_no, *listed.bond_invt_no.split(",")), expected_qty=listed.signed_qty,
        actual_qty=w.qty, delta_qty=delta, unit=w.unit, details=details))


def formal_balance(line: LedgerState, formula: str) -> Decimal:
    actual = line.actl_inc_qty - line.actl_redc_qty
    return actual if formula == "actual_only" else line.in_qty + actual


def balance(wms: dict[tuple[str, int], WmsBalance], ledger: dict[tuple[str, int], LedgerState], now: datetime,
            settings: CompareSection) -> RuleResult:
    """账实相符: each ledger line's balance against the WMS stock mapped to it."""
    result = RuleResult()
    for key, line in ledger.items():
        _balance_one(result, line, wms.get(key), now, settings)
    return result


def _balance_one(result: RuleResult, line: LedgerState, stock: WmsBalance | None, now: datetime,
                 s: CompareSection) -> None:
    shd = formal_balance(line, s.balance_formula)
    available = shd - line.prevd_redc_qty + line.prevd_inc_qty
    actl = stock.qty if stock else Decimal(0)
    if abs(actl - shd) <= s.qty_tolerance or abs(actl - available) <= s.qty_tolerance:
        return
    did = discrepancy_id("balance_mismatch", line.bws_no, line.gds_seqno)
    moments = [t for t in (line.qty_changed_at, stock and stock.last_occurred_at) if t is not None]
    if moments and _within(max(moments), now, s.balance_grace_hours):
        result.in_flight.add(did)
        return
    dsml = actl - shd
    rate = (dsml / shd).quantize(RATE_PLACES) if shd != 0 else None
    result.found.append(Discrepancy(
        did, "balance_mismatch", line.bws_no, line.gds_seqno, line.gds_mtno or (stock and stock.gds_mtno),
        (), expected_qty=shd, actual_qty=actl, delta_qty=dsml, unit=line.unit or (stock and stock.unit),
        details={"shdRemainQty": str(shd), "actlRemainQty": str(actl), "dsmlQty": str(dsml),
                 "dsmlRate": None if rate is None else str(rate), "availableQty": str(available),
                 "ledger_as_of": line.as_of.isoformat()}))
