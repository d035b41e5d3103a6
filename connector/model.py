"""Plain data that flows between stages. Quantities are Decimal, times are aware UTC datetimes.

Field names follow the customs glossary (DOMAIN.md §5) in snake_case: `bws_no` is 账册号 `bwsNo`,
`gds_seqno` is 商品序号 `gdsSeqno`, `gds_mtno` is 料号 `gdsMtno`, `dcl_qty` 申报数量, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

INCREASE, DECREASE, NONE = "increase", "decrease", "none"


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


@dataclass(frozen=True)
class Movement:
    """One WMS stock-movement line as the source adapter decoded it."""

    source: str
    line_key: str
    sku: str | None
    qty: Decimal
    uom: str | None
    movement_type: str | None
    doc_ref: str | None
    occurred_at: datetime
    changed_at: datetime
    lot: str | None = None
    location: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _aware("occurred_at", self.occurred_at)
        _aware("changed_at", self.changed_at)
        if not isinstance(self.qty, Decimal):
            raise TypeError("Movement.qty must be a Decimal")


@dataclass(frozen=True)
class SourceRowError:
    """A source row that could not be decoded into a Movement: goes to quarantine."""

    source: str
    line_key: str
    reason: str
    detail: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class Batch:
    """What a source returns per fetch: movements, bad rows, and the cursor that covers them."""

    movements: list[Movement]
    errors: list[SourceRowError]
    cursor: dict[str, Any] | None
    exhausted: bool


@dataclass(frozen=True)
class LedgerItem:
    """A ledger line (账册号 + 商品序号) as the item mapping names it."""

    bws_no: str
    gds_seqno: int
    gds_mtno: str
    gdecd: str
    dcl_unitcd: str
    lawf_unitcd: str


@dataclass(frozen=True)
class LedgerEntry:
    """A movement translated into the ledger's terms (declared and legal units, I/E direction)."""

    item: LedgerItem
    direction: str  # "I" into the zone/warehouse, "E" out
    action: str  # increase | decrease | conversion_in | conversion_out (分类监管, a 核增 / 核减)
    dcl_qty: Decimal  # signed: + increases the balance, - decreases it
    lawf_qty: Decimal
    doc_ref: str | None
    occurred_at: datetime
    mapping_version: str


@dataclass(frozen=True)
class Discrepancy:
    """A difference the comparator found. `id` is deterministic over the rule's key."""

    id: str
    kind: str
    ledger_no: str | None
    item_seq: int | None
    item_no: str | None
    doc_refs: tuple[str, ...]
    expected_qty: Decimal | None
    actual_qty: Decimal | None
    delta_qty: Decimal | None
    unit: str | None
    details: dict[str, Any] = field(default_factory=dict)
