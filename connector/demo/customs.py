"""What customs knows about the demo month: 核注清单 per WMS document, and the ledger they post.

Life cycle (DOMAIN.md §2.3): each list is declared on the document's day and pre-deducted
(INV201 `manageResult=4`, 预核扣) before the goods move; it is formally posted the next morning
(INV211 记账回执 with the ledger lines after posting). A list left `prededucted` never posts. The
ledger line state follows the natural reading of §1.3: the first posting into a line is its
`inQty`, later ones add to `actlIncQty` / `actlRedcQty`; lists pre-deducted but not yet posted at
a posting's time show as `prevdIncQty` / `prevdRedcQty`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal

from connector.demo.catalog import BY_SKU, CUSTOMS_DISTRICT, DemoItem
from connector.demo.scenario import Doc

ZERO = Decimal(0)


@dataclass(frozen=True)
class ListLine:
    seq: int  # gdsSeqno within the list
    item: DemoItem
    dcl_qty: Decimal


@dataclass(frozen=True)
class ListPlan:
    """One 核注清单: its numbers, lines and when customs pre-deducted and posted it."""

    bond_invt_no: str
    invt_preent_no: str
    doc: Doc
    lines: tuple[ListLine, ...]
    prevd_time: datetime
    formal_time: datetime | None

    @property
    def declared_at(self) -> datetime:
        return datetime.combine(self.doc.at.date(), time())

    def signed(self, line: ListLine) -> Decimal:
        return line.dcl_qty if self.doc.direction == "I" else -line.dcl_qty


@dataclass(frozen=True)
class LineState:
    """A ledger line (BwsDt) as an INV211 reports it after a posting."""

    item: DemoItem
    in_qty: Decimal
    actl_inc_qty: Decimal
    actl_redc_qty: Decimal
    prevd_inc_qty: Decimal
    prevd_redc_qty: Decimal
    in_date: datetime
    out_date: datetime | None
    invt_no: str
    invt_g_no: int
    modf_markcd: str

    @property
    def balance(self) -> Decimal:
        return self.in_qty + self.actl_inc_qty - self.actl_redc_qty


@dataclass(frozen=True)
class Posting:
    plan: ListPlan
    states: tuple[LineState, ...]


def plan_lists(docs: list[Doc]) -> list[ListPlan]:
    """A list for every receipt and delivery that has one, numbered in declaration order."""
    plans = []
    for doc in docs:
        if doc.kind in ("ASN", "DO") and doc.listing != "none":
            plans.append(_plan(doc, len(plans) + 1))
    return plans


def _plan(doc: Doc, n: int) -> ListPlan:
    override = dict(doc.declared_qty)
    lines = [ListLine(0, BY_SKU[ln.sku], override.get(ln.sku, BY_SKU[ln.sku].declared(ln.qty, ln.uom)))
             for ln in doc.lines if ln.sku in BY_SKU]
    numbered = tuple(ListLine(i, ln.item, ln.dcl_qty) for i, ln in enumerate(lines, start=1))
    formal = _next_morning(doc.at, n) if doc.listing == "posted" else None
    return ListPlan(
        bond_invt_no=f"QD{CUSTOMS_DISTRICT}{doc.at:%y}{doc.direction}{210000 + n:09d}",
        invt_preent_no=f"{doc.at:%Y}0000{1228400000 + n:010d}",
        doc=doc, lines=numbered, prevd_time=doc.at - timedelta(hours=2, minutes=n % 37), formal_time=formal)


def _next_morning(at: datetime, n: int) -> datetime:
    return datetime.combine(at.date() + timedelta(days=1), time(9)) + timedelta(minutes=n % 50, seconds=n % 60)


def postings(plans: list[ListPlan]) -> list[Posting]:
    """The INV211 of every posted list, in posting order, each with the ledger lines it touched."""
    book: dict[int, LineState] = {}
    out = []
    for plan in sorted((p for p in plans if p.formal_time), key=lambda p: p.formal_time):
        states = tuple(_post(book, plan, line, plans) for line in plan.lines)
        out.append(Posting(plan, states))
    return out


def _post(book: dict[int, LineState], plan: ListPlan, line: ListLine, plans: list[ListPlan]) -> LineState:
    at = plan.formal_time
    prev = book.get(line.item.seqno)
    inc = plan.doc.direction == "I"
    if prev is None:
        state = LineState(line.item, line.dcl_qty, ZERO, ZERO, ZERO, ZERO, at, None,
                          plan.bond_invt_no, line.seq, "3")
    else:
        state = LineState(
            line.item, prev.in_qty, prev.actl_inc_qty + (line.dcl_qty if inc else ZERO),
            prev.actl_redc_qty + (ZERO if inc else line.dcl_qty), ZERO, ZERO,
            at if inc else prev.in_date, prev.out_date if inc else at, plan.bond_invt_no, line.seq, "1")
    pinc, predc = provisional(plans, line.item, at)
    book[line.item.seqno] = state
    return replace(state, prevd_inc_qty=pinc, prevd_redc_qty=predc)


def provisional(plans: list[ListPlan], item: DemoItem, at: datetime) -> tuple[Decimal, Decimal]:
    """(预增, 预减) of an item at `at`: lists pre-deducted by then and not yet posted."""
    inc = redc = ZERO
    for plan in plans:
        if plan.prevd_time <= at and (plan.formal_time is None or plan.formal_time > at):
            for line in plan.lines:
                if line.item is item:
                    inc, redc = (inc + line.dcl_qty, redc) if plan.doc.direction == "I" else (inc, redc + line.dcl_qty)
    return inc, redc
