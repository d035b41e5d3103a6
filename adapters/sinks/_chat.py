"""What the chat-bot and e-mail sinks share: turning a stored document into a short human message.

The outbox stores one canonical JSON document per message (docs/push-schema.md); a chat sink
renders it, deterministically, into its platform's format at send time, so every retry still
sends the same content. The text says what happened and what to do next; it carries no secret
and not the full payload (long values are cut).
"""

from __future__ import annotations

import json
from typing import Any

from connector.abc import OutboundMessage

LINE_LIMIT = 300
DETAIL_KEYS = ("sink", "source", "stage", "reason", "rows", "status", "error", "outbox_id", "cert_subject",
               "cert_issuer", "cert_not_after")


def document(message: OutboundMessage) -> dict[str, Any]:
    try:
        data = json.loads(message.body)
    except ValueError:
        return {"event": message.event}
    return data if isinstance(data, dict) else {"event": message.event}


def render(message: OutboundMessage) -> tuple[str, list[str]]:
    """(title, lines) for one message: discrepancy, alert, snapshot, or anything else."""
    doc = document(message)
    site, event = doc.get("site", ""), doc.get("event", message.event)
    if "discrepancy" in doc:
        return _discrepancy(site, event, doc)
    if "alert" in doc:
        return _alert(site, doc["alert"])
    if "items" in doc:
        return _snapshot(site, doc)
    return f"[{site}] {event}", [f"id {message.id[:16]}"]


def _discrepancy(site: str, event: str, doc: dict[str, Any]) -> tuple[str, list[str]]:
    d, item = doc["discrepancy"], doc.get("item", {})
    label = d.get("kind_label") or d.get("kind")
    title = f"[{site}] 差异 {event.rsplit('.', 1)[-1]}: {label}"
    lines = [f"账册 bwsNo {item.get('bwsNo')} 序号 gdsSeqno {item.get('gdsSeqno')} 料号 gdsMtno {item.get('gdsMtno')}",
             f"expected {d.get('expected_qty')} actual {d.get('actual_qty')} delta {d.get('delta_qty')} "
             f"{d.get('unit') or ''}".rstrip(),
             f"docs {', '.join(d.get('doc_refs') or []) or '-'}; status {d.get('status')} v{d.get('version')}",
             "next: `connector discrepancies list` (check the WMS movement and the 核注清单)"]
    return title, [_cut(line) for line in lines]


def _alert(site: str, alert: dict[str, Any]) -> tuple[str, list[str]]:
    title = f"[{site}] 告警 alert {alert.get('kind')}: {alert.get('summary', '')}"
    lines = [f"{k}: {alert[k]}" for k in DETAIL_KEYS if alert.get(k) not in (None, "")]
    if alert.get("suppressed_before"):
        lines.append(f"{alert['suppressed_before']} similar alert(s) were suppressed before this one")
    lines.append(f"处理 next: {alert.get('action', '-')}")
    return _cut(title), [_cut(line) for line in lines]


def _snapshot(site: str, doc: dict[str, Any]) -> tuple[str, list[str]]:
    items = doc.get("items") or []
    differing = [i for i in items if i.get("dsmlQty") not in (None, "0")]
    lines = [f"{len(items)} ledger item(s), {len(differing)} with a difference (dsmlQty ≠ 0)"]
    lines += [f"bwsNo {i.get('bwsNo')} gdsSeqno {i.get('gdsSeqno')}: dsmlQty {i.get('dsmlQty')}"
              for i in differing[:5]]
    return f"[{site}] 账实 balance snapshot {doc.get('period_start', '')}", lines


def _cut(text: str) -> str:
    text = "".join(c if c.isprintable() else " " for c in str(text))
    return text if len(text) <= LINE_LIMIT else text[:LINE_LIMIT - 1] + "…"


def as_markdown(title: str, lines: list[str]) -> str:
    return "\n".join([f"**{title}**", *(f"> {line}" for line in lines)])


def as_text(title: str, lines: list[str]) -> str:
    return "\n".join([title, *lines])
