"""`compare --as-of`: the picture at a past instant, recomputed from the stored revisions.

Only rows the connector knew at that instant are read: ledger entries created (and movements
occurred) by then — each WMS revision and reversal is its own entry, so the WMS side is exact —
and declaration rows last updated by then. Declaration rows are kept as their latest state, so a
list or ledger line changed after the instant is left out rather than guessed; the result says how
many were left out. Nothing is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from connector.compare import load
from connector.compare.rules import KIND_LABELS
from connector.compare.settings import CompareSection
from connector.compare.units import evaluate
from connector.store.engine import Store
from connector.store.tables import bond_invt_heads, ledger_lines


def picture(store: Store, settings: CompareSection, at: datetime) -> dict[str, Any]:
    if at.tzinfo is None:
        raise ValueError("--as-of needs a time zone offset, e.g. 2025-03-31T24:00+08:00")
    with store.read() as conn:
        outcome = evaluate(conn, None, settings, at, as_of=at, balances=load.balances_from_entries(conn, at))
        later = {name: conn.execute(select(func.count()).select_from(t).where(t.c.updated_at > at)).scalar()
                 for name, t in (("lists", bond_invt_heads), ("ledger_lines", ledger_lines))}
    found = sorted(outcome.found, key=lambda f: (f[0].kind, f[0].ledger_no or "", f[0].id))
    return {"as_of": at.isoformat(), "in_flight": len(outcome.held), "changed_after_as_of_not_used": later,
            "discrepancies": [_row(d) for d, _ in found]}


def _row(d) -> dict[str, Any]:
    text = lambda v: None if v is None else format(v, "f")
    return {"id": d.id, "kind": d.kind, "kind_label": KIND_LABELS.get(d.kind, d.kind), "ledger_no": d.ledger_no,
            "item_seq": d.item_seq, "item_no": d.item_no, "doc_refs": list(d.doc_refs),
            "expected_qty": text(d.expected_qty), "actual_qty": text(d.actual_qty), "delta_qty": text(d.delta_qty),
            "unit": d.unit, "details": {k: v for k, v in d.details.items() if k != "evidence"},
            "evidence": d.details.get("evidence", [])}


def parse_instant(text: str) -> datetime:
    """ISO 8601 with an offset; `24:00` means the end of that day (2025-03-31T24:00+08:00)."""
    from datetime import timedelta

    if "T24:00" in text:
        return datetime.fromisoformat(text.replace("T24:00", "T00:00")) + timedelta(days=1)
    return datetime.fromisoformat(text)
