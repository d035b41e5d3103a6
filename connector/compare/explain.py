"""`connector discrepancies show ID`: a discrepancy in words a customs officer reads.

Customs terms stand beside the English (账册号 ledger, 商品序号 item, 料号 part number, …); the
evidence rows are listed with the receipt files they came from.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from connector.compare.rules import KIND_LABELS
from connector.store.tables import receipts

WHAT = {
    "missing_list": "goods moved in the WMS but no 核注清单 (verification list) line covers them",
    "list_without_movement": "a 核注清单 (verification list) was declared but the WMS shows no movement",
    "quantity_mismatch": "the WMS quantity differs from the 申报数量 (declared quantity) of the list",
    "balance_mismatch": "the 账册 (ledger) balance differs from the WMS stock (账货差异)",
    "item_mismatch": "the document moved one 料号 (part number) but the list declares another",
    "unit_mismatch": "the list's 申报计量单位 (declared unit) differs from the mapped unit",
    "direction_mismatch": "the goods moved one way (进/出) and the list declares the other",
    "passport_over_allocation": "the 核放单 (gate passes) of the list line carry more than it declares",
    "passport_shortfall": "the list is 正式核扣 (formally verified) but its passed trucks carry less",
    "weight_over_tolerance": "the 地磅 (weighbridge) or WMS weight is outside the tolerance of the 核放单",
    "dispatch_without_passport": "goods left the warehouse without a 核放单 (gate pass)",
    "passport_without_loading": "a 核放单 passed the gate with no WMS loading",
    "collective_overdue": "an 出入库单 was not 集报 (collectively declared) by the deadline",
    "bonded_status_mismatch": "stock in a 非保 (non-bonded) place sits on a 保税 (bonded) ledger line",
    "state_mismatch": "the document was 退单/作废 (rejected/voided) but goods moved",
    "writeoff_imbalance": "期初 + 核增 − 核减 ≠ 期末 (opening + in − out ≠ closing) for the 核销 period",
    "writeoff_due": "the 核销 (write-off) filing for the period is due",
}
FIELDS = [("ledger_no", "账册号 ledger"), ("item_seq", "商品序号 item"), ("item_no", "料号 part number"),
          ("expected_qty", "应有数量 expected (declared side)"), ("actual_qty", "实际数量 actual (WMS side)"),
          ("delta_qty", "差异数量 difference"), ("unit", "计量单位 unit")]


def explain(conn: Connection, row: Any, zone) -> str:
    label = KIND_LABELS.get(row.kind, row.kind)
    lines = [f"Discrepancy {row.id}  {label} ({row.kind}), version {row.version}, {_status(row)}",
             f"What: {WHAT.get(row.kind, row.kind)}."]
    lines += [f"  {name}: {getattr(row, key)}" for key, name in FIELDS if getattr(row, key) is not None]
    if row.doc_refs:
        lines.append(f"  单证 documents: {', '.join(row.doc_refs)}")
    lines += [f"  {k}: {v}" for k, v in sorted(row.details.items())]
    lines.append(f"First seen {row.first_seen.astimezone(zone):%Y-%m-%d %H:%M}, "
                 f"last seen {row.last_seen.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})")
    lines.append("Evidence 证据:")
    lines += [f"  - {_evidence(conn, e)}" for e in row.evidence or []] or ["  (none recorded)"]
    return "\n".join(lines)


def _status(row: Any) -> str:
    if row.status == "acknowledged":
        return f"acknowledged 已确认: {row.ack_reason}"
    if row.status == "resolved":
        return f"resolved 已消除 at {row.resolved_at.isoformat()}"
    return "open 未处理"


def _evidence(conn: Connection, ref: str) -> str:
    kind, _, rest = ref.partition(":")
    if kind == "receipt" and rest.isdigit():
        r = conn.execute(select(receipts).where(receipts.c.id == int(rest))).one_or_none()
        if r is not None:
            return f"回执 receipt {r.message_type} {r.file_name} (received {r.received_at.isoformat()})"
    names = {"movement": "WMS 出入库 movement revision", "list": "核注清单 list line",
             "ledger_line": "账册 ledger line", "passport": "核放单 passport", "dispatch": "WMS dispatch"}
    return f"{names.get(kind, kind)} {rest}"
