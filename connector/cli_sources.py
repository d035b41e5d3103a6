"""Commands of the sources group: `sources status`, `sources reset NAME --confirm`, `sources reconcile`,
and `mappings check [--days N]`."""

from __future__ import annotations

import json
import sys

from connector.app import App


def register(sub, late) -> None:
    group = sub.add_parser("sources", help="WMS sources: cursors, halts, reconciliation")
    actions = group.add_subparsers(dest="action", required=True)
    status = actions.add_parser("status", parents=[late], help="each source's cursor, strategy and halt reason")
    status.set_defaults(handler=run_status)
    reset = actions.add_parser("reset", parents=[late], help="forget a source's cursor (and its halt): the next "
                               "sync re-reads it from the start; unchanged lines are skipped by content hash")
    reset.add_argument("name")
    reset.add_argument("--confirm", action="store_true", help="required: this is a deliberate operator decision")
    reset.set_defaults(handler=run_reset)
    recon = actions.add_parser("reconcile", parents=[late], help="ledger vs each WMS's on-hand snapshot, once")
    recon.set_defaults(handler=run_reconcile)
    mappings = sub.add_parser("mappings", help="item mappings against what the WMS sends")
    check = mappings.add_subparsers(dest="action", required=True).add_parser(
        "check", parents=[late], help="SKUs, units and movement types seen in the last N days that the mapping "
        "does not cover (exit 1 when there are any)")
    check.add_argument("--days", type=int, default=30, help="look back this many days (default 30)")
    check.set_defaults(handler=run_mappings_check)


def run_status(args, loaded) -> int:
    from sqlalchemy import select

    from connector.store.tables import source_cursors

    with App(loaded) as app:
        with app.store.read() as conn:
            stored = {r.source: r for r in conn.execute(select(source_cursors))}
        report = {}
        for name in loaded.config.sources:
            row = stored.get(name)
            settings = loaded.adapters[("sources", name)][1]
            report[name] = {"profile": getattr(settings, "profile", None), "cursor": getattr(settings, "cursor", None),
                            "position": row.value if row else None, "halted": row.halted_reason if row else None}
        print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return 0


def run_reset(args, loaded) -> int:
    from connector import sync

    if args.name not in loaded.config.sources:
        print(f"no source {args.name!r} in {loaded.path}", file=sys.stderr)
        return 2
    if not args.confirm:
        print("refusing without --confirm: the next sync re-reads the whole source", file=sys.stderr)
        return 2
    with App(loaded) as app:
        with app.store.begin() as conn:
            existed = sync.reset_cursor(conn, args.name)
        print(f"source {args.name}: cursor {'reset' if existed else 'was not set'}")
        return 0


def run_reconcile(args, loaded) -> int:
    with App(loaded) as app:
        print(json.dumps(app.reconcile(), indent=2, ensure_ascii=False, default=str))
        return 0


def run_mappings_check(args, loaded) -> int:
    from connector import mappings_check

    with App(loaded) as app:
        report = mappings_check.check_sources(app.store, loaded, app.clock.now(), args.days)
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 1 if mappings_check.has_gaps(report) else 0
