"""The plain data the rules read; `load.py` builds it from the store, tests build it by hand.

Quantities are in the declared unit (`dclUnitcd`) unless a field says otherwise; signs: + into the
warehouse, - out. `evidence` fields name the stored rows a finding rests on (movement revisions as
`source:line_key#revision`, declaration lines as `list:bond_invt_no/gds_seqno`, receipts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


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
    evidence: tuple[str, ...] = ()
    gdecd: str | None = None


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
    evidence: tuple[str, ...] = ()
    void: bool = False  # invtStucd 退单 / 删单: kept to explain "rejected but moved" (C8)

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
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class WmsBalance:
    bws_no: str
    gds_seqno: int
    gds_mtno: str
    unit: str
    qty: Decimal
    last_occurred_at: datetime


@dataclass(frozen=True)
class WmsLine:
    """One WMS line (all its revisions summed) with no document reference, for time-window matching."""

    line_key: str
    gds_mtno: str
    bws_no: str
    gds_seqno: int
    unit: str
    qty: Decimal
    occurred_at: datetime
    evidence: tuple[str, ...] = ()
