"""`connector discrepancies show ID`: a discrepancy in words a customs officer reads.

Customs terms stand beside the English (账册号 ledger, 商品序号 item, 料号 part number, …); the
evidence rows are listed with the receipt files they came from.
"""

from __future__ import annotations

from datetime import datetime
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
    "weight_over_tolerance": "the 地磅 (weighbridge) or WMS weight is outside the tolerance of the 核放单 (重量超差)",
    "dispatch_without_passport": "goods left the warehouse on a vehicle (车牌 plate) with no 核放单 (gate pass) of "
                                 "that vehicle passing the 卡口 (gate) within the window (无单出区)",
    "passport_without_loading": "a 核放单 (gate pass) of the vehicle passed the 卡口 (gate) but the WMS loaded "
                                "nothing on it within the window (有单无装车)",
    "collective_overdue": "an 出入库单 was not 集报 (collectively declared) by the deadline",
    "bonded_status_mismatch": "stock in a 非保 (non-bonded) location or lot sits on a 保税 (bonded) ledger line, "
                              "or bonded stock on a 非保账册 (non-bonded ledger) line (分类监管)",
    "conversion_unbooked": "the WMS recorded a 分类监管 (classified supervision) conversion between 保税 (bonded) and "
                           "非保 (non-bonded) but the 账册 (ledger) shows no matching 核增/核减 (increase/decrease)",
    "state_mismatch": "the document was 退单/作废 (rejected/voided) but goods moved",
    "writeoff_imbalance": "期初 + 核增 − 核减 ≠ 期末 (opening + in − out ≠ closing) for the 核销 (write-off) period",
    "writeoff_due": "the 报核 (write-off filing) of the 核销周期 (write-off period) is due and no approval is stored",
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
    lines += [f"  {note}" for note in _notes(row)]
    lines.append(f"First seen {row.first_seen.astimezone(zone):%Y-%m-%d %H:%M}, "
                 f"last seen {row.last_seen.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})")
    lines.append("Evidence 证据:")
    lines += [f"  - {_evidence(conn, e)}" for e in row.evidence or []] or ["  (none recorded)"]
    return "\n".join(lines)


COMPARED = {
    "weighbridge": "核放单 总重量 totalWt vs 地磅 weighbridge passCollectWt",
    "wms": "WMS 发货毛重 shipped gross weight vs 核放单 货物总毛重 totalGrossWt",
    "wms_weighbridge": "WMS 发货毛重 gross + 车辆自重/车架重/集装箱重 tare vs 地磅 weighbridge passCollectWt",
}
SIDES = {"ledger": "账册侧 ledger side (customs' EMS221 approval: vclrPridInitQty + vrfaddQty − vrfredQty vs "
                   "shdRemainQty)",
         "wms": "WMS 侧 WMS side (opening + in − out from the movements vs the filed actlRemainQty 实际剩余数量)"}


def _notes(row: Any) -> list[str]:
    """What a new-rule finding compared, in the officer's words."""
    d = row.details or {}
    notes = []
    if row.kind == "weight_over_tolerance" and d.get("compared") in COMPARED:
        notes.append(f"Compared 比对: {COMPARED[d['compared']]}")
    if row.kind == "state_mismatch" and d.get("voided_passports"):
        notes.append("The truck left 车辆已出区 but its 核放单 (gate pass) was 作废/删除 (voided/deleted): "
                     + ", ".join(d["voided_passports"]))
    if row.kind == "conversion_unbooked":
        notes += _conversion_notes(d)
    if row.kind == "writeoff_imbalance" and d.get("side") in SIDES:
        notes.append(f"Side 比对侧: {SIDES[d['side']]}")
    if row.kind == "writeoff_due" and d.get("filing_due"):
        late = row.last_seen >= datetime.fromisoformat(d["filing_due"])
        notes.append(f"报核期限 filing deadline {d['filing_due']}: "
                     + ("已超期 overdue" if late else "approaching 即将到期") + " (see `connector periods`)")
    return notes


CONVERSIONS = {"to_non_bonded": "保税转非保 (bonded to non-bonded): needs a 核减 (decrease) on an E 出 list",
               "to_bonded": "非保转保税 (non-bonded to bonded): needs a 核增 (increase) on an I 进 list"}
REASONS = {"no_list": "无核注清单 no live list of this document and 料号 (or no document reference)",
           "not_booked": "未核扣 the list is not yet booked into the ledger (vrfdedMarkcd not 1/2/3)",
           "wrong_direction": "进出方向不符 the lists declare the other direction",
           "short": "核增/核减数量不足 the booked quantity is less than the WMS converted"}


def _conversion_notes(d: dict) -> list[str]:
    return [f"Conversion 转换: {CONVERSIONS.get(d.get('conversion'), d.get('conversion'))}",
            f"Reason 原因: {REASONS.get(d.get('reason'), d.get('reason'))}; WMS {d.get('wms_qty')}, "
            f"booked 已核增/核减 {d.get('booked_qty')}"]


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
             "ledger_line": "账册 ledger line", "passport": "核放单 passport",
             "dispatch": "WMS 装车出库 dispatch (车牌@time)", "stock_bill": "出入库单 stock bill"}
    return f"{names.get(kind, kind)} {rest}"
