"""C7 分类监管 conversions (measure 九): a 保税转非保 / 非保转保税 must show in the bonded ledger.

A WMS movement type mapped with `conversion = "to_non_bonded"` (a 核减, E) or `"to_bonded"` (a 核增,
I) posts ledger entries with the action `conversion_out` / `conversion_in`. The conversion is matched
when live 核注清单 lines of its document and 料号, in its direction and booked into the ledger
(head `vrfdedMarkcd` 1 预核扣, 2 已核扣 or 3 已核销), cover its quantity; otherwise, once the movement
grace window has passed, it is 分类监管转换未核增/核减 (`conversion_unbooked`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from connector.compare.rules.base import ZERO, RuleResult, discrepancy_id, held
from connector.compare.settings import CompareSection, within_tolerance
from connector.model import Discrepancy

DIRECTION = {"to_non_bonded": "E", "to_bonded": "I"}  # the 核注清单 impexpMarkcd that books it
BOOKED_MARKS = ("1", "2", "3")  # vrfdedMarkcd 预核扣, 已核扣, 已核销


@dataclass(frozen=True)
class Conversion:
    """The entries of one document's (or, without a reference, one WMS line's) conversion of one 料号."""

    key: str  # the document reference, or "~source:line_key"
    doc_ref: str | None
    conversion: str  # to_non_bonded | to_bonded
    bws_no: str
    gds_seqno: int
    gds_mtno: str
    unit: str
    qty: Decimal  # Σ entries and reversals, signed (+ into the bonded ledger, - out of it)
    last_occurred_at: datetime
    line_keys: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class BookedLine:
    """One 核注清单 line of the conversion's document and 料号."""

    bond_invt_no: str
    gds_seqno: int
    impexp_markcd: str
    dcl_qty: Decimal
    booked: bool  # head vrfdedMarkcd in BOOKED_MARKS
    void: bool = False  # invtStucd 2 退单 / 3 删单
    evidence: tuple[str, ...] = ()


def conversions_booked(conversions: list[Conversion], lines: dict[tuple[str, str], list[BookedLine]],
                       now: datetime, s: CompareSection) -> RuleResult:
    """`lines`: (document, 料号) -> its 核注清单 lines (void ones are ignored)."""
    result = RuleResult()
    for c in sorted(conversions, key=lambda x: (x.key, x.gds_mtno, x.conversion)):
        live = [x for x in lines.get((c.doc_ref, c.gds_mtno), []) if not x.void] if c.doc_ref else []
        _check(result, c, live, now, s)
    return result


def _check(result: RuleResult, c: Conversion, live: list[BookedLine], now: datetime, s: CompareSection) -> None:
    wanted = abs(c.qty)
    mine = [x for x in live if x.impexp_markcd == DIRECTION[c.conversion]]
    booked = sum((x.dcl_qty for x in mine if x.booked), ZERO)
    short = wanted - booked
    if wanted == 0 or short <= 0 or within_tolerance(short, wanted, s.tolerance_for(c.bws_no, c.gds_seqno)):
        return
    did = discrepancy_id("conversion_unbooked", c.key, c.gds_mtno, c.conversion)
    if not held(result, did, c.last_occurred_at, now, s.movement_grace_hours):
        result.found.append(_finding(did, c, live, booked, _reason(live, mine, booked)))


def _finding(did: str, c: Conversion, live: list[BookedLine], booked: Decimal, reason: str) -> Discrepancy:
    """Signed like the ledger: expected = the booked quantity, actual = the WMS conversion."""
    expected = booked if c.qty > 0 else -booked
    lists = sorted(live, key=lambda x: (x.bond_invt_no, x.gds_seqno))
    refs = (c.doc_ref, *sorted({x.bond_invt_no for x in lists})) if c.doc_ref else ()
    return Discrepancy(did, "conversion_unbooked", c.bws_no, c.gds_seqno, c.gds_mtno, refs, expected, c.qty,
                       c.qty - expected, c.unit,
                       {"conversion": c.conversion, "reason": reason, "wms_qty": str(abs(c.qty)),
                        "booked_qty": str(booked), "wms_lines": list(c.line_keys),
                        "last_movement_at": c.last_occurred_at.isoformat(),
                        "evidence": [*c.evidence, *(e for x in lists for e in x.evidence)]})


def _reason(live: list[BookedLine], mine: list[BookedLine], booked: Decimal) -> str:
    if not live:
        return "no_list"
    if not mine:
        return "wrong_direction"
    return "short" if booked > 0 else "not_booked"
