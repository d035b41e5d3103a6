"""Commands of the messages group: `messages show <document-no>`, `messages raw <sha256>`, `messages purge`."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from connector.app import with_app


def register(sub, late) -> None:
    messages = sub.add_parser("messages", help="customs messages received: history, raw bytes, retention")
    actions = messages.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", parents=[late], help="a document's current state and history of receipts")
    show.add_argument("document", help="核注清单 / 核放单 / 出入库单 / 业务申报表 number, or etpsInnerInvtNo")
    show.add_argument("--format", choices=("table", "json"), default="table")
    show.set_defaults(handler=run_show)
    raw = actions.add_parser("raw", parents=[late], help="write a kept raw message (by sha256) to stdout")
    raw.add_argument("sha256")
    raw.set_defaults(handler=run_raw)
    purge = actions.add_parser("purge", parents=[late], help="delete raw messages whose retention has ended")
    purge.set_defaults(handler=run_purge)


def run_show(args, loaded) -> int:
    from connector.message_history import history

    def work(app) -> int:
        with app.store.read() as conn:
            found = history(conn, args.document)
        if found is None:
            print(f"no document {args.document} in the store", file=sys.stderr)
            return 1
        if args.format == "json":
            print(json.dumps(found, indent=2, ensure_ascii=False, default=str))
        else:
            print(render(found, ZoneInfo(app.config.connector.timezone)))
        return 0
    return with_app(loaded, work)


def run_raw(args, loaded) -> int:
    from connector.message_history import raw_bytes

    def work(app) -> int:
        with app.store.read() as conn:
            data = raw_bytes(conn, args.sha256)
        if data is None:
            print(f"no raw message with sha256 {args.sha256}", file=sys.stderr)
            return 1
        sys.stdout.buffer.write(data)
        return 0
    return with_app(loaded, work)


def run_purge(args, loaded) -> int:
    from connector.message_history import purge_raw

    def work(app) -> int:
        with app.store.begin() as conn:
            print(json.dumps({"raw_messages_deleted": purge_raw(conn, app.clock.now())}))
        return 0
    return with_app(loaded, work)


def render(found: dict[str, Any], zone: ZoneInfo) -> str:
    """The table people read: times in the site's zone, codes with their meaning."""
    from connector.message_history import PASSPORT_STUCD, VRFDED

    lines = [f"{found['kind'] or 'document'} {found['document']}"]
    head = found["head"] or {}
    if "vrfded_markcd" in head:
        lines.append(f"  核扣 {VRFDED.get(head['vrfded_markcd'] or '', head['vrfded_markcd'])}; "
                     f"预核扣 {_local(head.get('prevd_time'), zone)}; 正式核扣 {_local(head.get('formal_vrfded_time'), zone)}")
    if "stucd" in head:
        lines.append(f"  stucd {head['stucd']} {PASSPORT_STUCD.get(head['stucd'] or '', '') if 'passport_no' in head else ''}")
    if head:
        lines.append(f"  current: result {head.get('manage_result')} rank {head.get('result_rank')}")
    lines.append("  receipts (oldest first):")
    for r in found["receipts"]:
        lines.append(f"    {_local(r['received_at'], zone)}  {r['message_type']:<8} result {r['manage_result'] or '-':<3} "
                     f"rank {r['result_rank'] if r['result_rank'] is not None else '-'}  {r['doc_state'] or ''}  "
                     f"{r['file_name']}  sha256 {r['sha256'][:12]}{'' if r['raw_kept'] else ' (raw purged)'}")
    for p in found.get("passports", []):
        lines.append(f"  passport {p['passport_no']}: stucd {p['stucd']} {PASSPORT_STUCD.get(p['stucd'] or '', '')}, "
                     f"passed {_local(p['pass_time'], zone)}, vehicle {p['vehicle_no'] or '-'}")
    if found.get("entries"):
        lines.append(f"  报关单 entries (two-step): {', '.join(found['entries'])}")
    return "\n".join(lines)


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return "-" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
