"""Commands of the outbox group: `outbox list` (what is pending, sent, dead; each sink's circuit)
and `outbox retry` (re-queue dead messages, re-enable a stopped or disabled sink)."""

from __future__ import annotations

import json
import sys
from typing import Any

STATUSES = ("pending", "sent", "dead", "all")
TABLE_COLUMNS = ("id", "sink", "event", "status", "attempts", "last_status", "next_attempt_at", "last_error")


def register(sub, late) -> None:
    group = sub.add_parser("outbox", help="messages waiting, sent or dead; re-queue dead ones")
    actions = group.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", parents=[late], help="list outbox messages (bodies are not shown)")
    listing.add_argument("--status", choices=STATUSES, default="dead")
    listing.add_argument("--sink", help="only this sink")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(handler=run_list)
    retry = actions.add_parser("retry", parents=[late],
                               help="re-queue dead messages (same bytes, same key) and close a sink's circuit")
    retry.add_argument("ids", nargs="*", help="outbox ids (from `outbox list`)")
    retry.add_argument("--sink", help="every dead message of this sink; also re-enables the sink")
    retry.add_argument("--all-dead", action="store_true", help="every dead message of every sink")
    retry.set_defaults(handler=run_retry)


def _with_store(loaded, work) -> int:
    from connector.clock import SystemClock
    from connector.store.engine import Store

    store_config = loaded.config.store
    store = Store.open(store_config.url, password=store_config.password,
                       busy_timeout=store_config.busy_timeout_seconds)
    try:
        return work(store, SystemClock())
    finally:
        store.close()


def run_list(args, loaded) -> int:
    from connector import _circuit, outbox

    def work(store, clock) -> int:
        rows = outbox.list_messages(store, status=None if args.status == "all" else args.status,
                                    sink=args.sink, limit=args.limit)
        with store.read() as conn:
            sinks = _circuit.states(conn)
        if args.format == "json":
            print(json.dumps({"messages": rows, "sinks": sinks}, indent=2, ensure_ascii=False, default=str))
        else:
            _print_table(rows, sinks)
        return 0

    return _with_store(loaded, work)


def _print_table(rows: list[dict[str, Any]], sinks: list[dict[str, Any]]) -> None:
    print("\t".join(TABLE_COLUMNS))
    for row in rows:
        cells = {**row, "last_error": (row["last_error"] or "")[:80]}
        print("\t".join("" if cells[c] is None else str(cells[c]) for c in TABLE_COLUMNS))
    for s in sinks:
        if s["state"] != "closed" or s["failures"]:
            print(f"sink {s['sink']}: {s['state']} (failures {s['failures']}, until {s['open_until'] or 'an operator acts'})"
                  f": {s['reason'] or ''}")


def run_retry(args, loaded) -> int:
    from connector import outbox

    if not (args.ids or args.sink or args.all_dead):
        print("outbox retry: name outbox ids, --sink NAME or --all-dead", file=sys.stderr)
        return 2

    def work(store, clock) -> int:
        print(json.dumps(outbox.retry(store, clock.now(), ids=args.ids, sink=args.sink), ensure_ascii=False))
        return 0

    return _with_store(loaded, work)
