"""The demo's printed report: what was generated, what each stage did, and what it found."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import Connection, select

from connector.compare.engine import as_dict
from connector.compare.rules import KIND_LABELS
from connector.demo.catalog import BWS_NO, COMPANY, ITEMS, UNMAPPED_SKU
from connector.demo.receiver import Received
from connector.demo.scenario import ZONE
from connector.store.tables import discrepancies, outbox, quarantine

if TYPE_CHECKING:
    from connector.demo.run import Generated

COLUMNS = ("kind", "ledger_no", "seq", "item_no", "doc_refs", "expected", "actual", "delta", "unit")
KIND_ORDER = {kind: n for n, kind in enumerate(KIND_LABELS)}
MEANINGS = (
    "  无单出入 a WMS receipt or delivery that no 核注清单 line covers (doc_ref = etpsInnerInvtNo + 料号)",
    "  有单无货 a 核注清单 line with no WMS movement behind it (here: an order cancelled after declaring)",
    "  数量不符 both exist but the declared quantity differs from what the WMS moved",
    "  账货差异 ledger balance (inQty + actlIncQty - actlRedcQty) against WMS stock on that ledger line",
)


@dataclass(frozen=True)
class Snapshot:
    """What the store holds after the run."""

    quarantine: list[dict[str, Any]]
    discrepancies: list[dict[str, Any]]
    outbox: Counter


@dataclass(frozen=True)
class Run:
    generated: Generated
    now: datetime
    counts: dict[str, Any]
    snapshot: Snapshot
    received: list[Received]
    seconds: float


def snapshot(conn: Connection) -> Snapshot:
    """Open quarantine entries, open discrepancies (kind order of KIND_LABELS) and outbox states."""
    q = quarantine.c
    open_q = select(quarantine).where(q.resolved_at.is_(None)).order_by(q.stage, q.ref)
    found = [as_dict(r) for r in conn.execute(select(discrepancies).where(discrepancies.c.status == "open"))]
    found.sort(key=lambda d: (KIND_ORDER.get(d["kind"], 99), d["item_seq"] or 0, d["doc_refs"]))
    sent = Counter((r.sink, r.status) for r in conn.execute(select(outbox.c.sink, outbox.c.status)))
    return Snapshot([dict(r._mapping) for r in conn.execute(open_q)], found, sent)


def print_report(out: TextIO, run: Run) -> None:
    for part in (_header, _generated, _stages, _quarantine, _discrepancies, _delivery, _footer):
        print("\n".join(part(run)), file=out)
        print(file=out)


def _header(run: Run) -> list[str]:
    local = run.now.astimezone(ZONE)
    return [f"connector demo: bonded warehouse {COMPANY['name']}, logistics ledger {BWS_NO}",
            f"  work folder  {run.generated.workdir}",
            f"  now          {local:%Y-%m-%d %H:%M:%S} Asia/Shanghai; finished in {run.seconds:.1f} s"]


def _generated(run: Run) -> list[str]:
    g = run.generated
    kinds = Counter(d.kind for d in g.docs)
    types = Counter("cut off" if name == g.inbox.bad else kind
                    for name, kind in zip(g.inbox.names, g.inbox.types, strict=True))
    return ["Generated",
            f"  wms.sqlite    {g.wms.rows} stock movements ({_flat(g.wms.by_type)}; {g.wms.cancelled} of a "
            f"cancelled order)",
            f"                from {kinds['ASN']} receipts, {kinds['DO']} deliveries, {kinds['CNT']} stock counts",
            f"  mapping.toml  {len(ITEMS)} items on ledger {BWS_NO} ({UNMAPPED_SKU} deliberately not mapped)",
            f"  InBox/        {len(g.inbox.names)} customs receipts: "
            + ", ".join(f"{n} {t}" for t, n in sorted(types.items()))]


def _stages(run: Run) -> list[str]:
    sync = run.counts["sync"]
    lines = ["Stages"]
    for key, value in sync.items():
        if key.startswith("source:"):
            lines.append(f"  sync {key}: rows {_flat(value['pulled'])}")
            lines.append(f"  ledger {key[7:]}: {_flat(value['ledger'])}")
        else:
            lines.append(f"  sync {key}: {_flat(value)}")
    lines.append(f"  compare: {_flat(run.counts['compare'])}")
    lines.append(f"  deliver: {_flat(run.counts['deliver'])}")
    return lines


def _flat(counts: dict[str, Any]) -> str:
    parts = []
    for key, value in counts.items():
        if isinstance(value, dict):
            parts += [f"{key.replace('_', ' ')}: " + ", ".join(f"{k} {v}" for k, v in value.items())] if value else []
        else:
            parts.append(f"{key} {value}")
    return ", ".join(parts) or "nothing"


def _quarantine(run: Run) -> list[str]:
    rows = [q for q in run.snapshot.quarantine if q["stage"] != "declaration"]
    files = [q for q in run.snapshot.quarantine if q["stage"] == "declaration"]
    lines = [f"Quarantined WMS rows ({len(rows)})"]
    lines += [f"  {q['source']}:{q['ref']}  {q['reason']}: {q['detail']}" for q in rows] or ["  none"]
    lines.append(f"Failed InBox files ({len(files)}), moved to failed/ with a .reason.txt")
    lines += [f"  {q['ref']}  {q['reason']}: {q['detail']}" for q in files] or ["  none"]
    return lines


def _discrepancies(run: Run) -> list[str]:
    found = run.snapshot.discrepancies
    table = [COLUMNS] + [_cells(d) for d in found]
    widths = [max(_width(row[i]) for row in table) for i in range(len(COLUMNS))]
    lines = [f"Discrepancies ({len(found)} open; quantities in the declared unit, + into the zone, - out)"]
    lines += ["  " + "  ".join(_pad(cell, w, i >= 5) for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
              for row in table]
    in_flight = run.counts["compare"].get("in_flight", 0)
    return lines + ["", *MEANINGS,
                    f"  {in_flight} more differences are in flight: younger than their grace window (72 h for "
                    "movements and lists, 48 h for balances), so not reported yet."]


def _cells(d: dict[str, Any]) -> tuple[str, ...]:
    kind = f"{d['kind']} {d['kind_label']}"
    return (kind, d["ledger_no"] or "", str(d["item_seq"] or ""), d["item_no"] or "", ",".join(d["doc_refs"]),
            d["expected_qty"] or "", d["actual_qty"] or "", d["delta_qty"] or "", d["unit"] or "")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


def _delivery(run: Run) -> list[str]:
    pushes = [r for r in run.received if not r.path.startswith("/alerts")]
    hooks = [r for r in run.received if r.path.startswith("/alerts")]
    signed = sum(1 for r in hooks if "webhook-signature" in r.headers)
    states = ", ".join(f"{sink} {status} {n}" for (sink, status), n in sorted(run.snapshot.outbox.items()))
    return ["Delivery to the local receiver",
            f"  supervision push  {len(pushes)} requests to / (each with an Idempotency-Key)",
            f"  alert webhook     {len(hooks)} requests to /alerts ({signed} signed with webhook-signature)",
            f"  outbox            {states or 'empty'}"]


def _footer(run: Run) -> list[str]:
    folder = run.generated.workdir
    return ["Look around",
            f"  {folder}/wms.sqlite (table stock_moves), mapping.toml, config.toml, processed/, failed/, state.db",
            "  the config names its webhook secret by reference; to use it with the CLI, set any whsec_ value:",
            f"  CONNECTOR_DEMO_WEBHOOK_SECRET=whsec_AAAA connector -c {folder}/config.toml discrepancies list"]
