"""Commands of the comparator: `compare [--rebuild | --as-of T]` and `discrepancies list|show|ack`."""

from __future__ import annotations

import json
import sys

from connector.app import with_app


def register(sub, late) -> None:
    compare = sub.add_parser("compare", parents=[late], help="run the comparator once")
    how = compare.add_mutually_exclusive_group()
    how.add_argument("--rebuild", action="store_true", help="recompute every key from the stored data")
    how.add_argument("--as-of", metavar="TIME", help="the picture at a past instant (ISO 8601 with offset); "
                                                    "prints it, writes nothing")
    compare.set_defaults(handler=run_compare)
    disc = sub.add_parser("discrepancies", help="discrepancies found by the comparator")
    disc_sub = disc.add_subparsers(dest="action", required=True)
    listing = disc_sub.add_parser("list", parents=[late], help="list discrepancies")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.add_argument("--status", choices=("open", "acknowledged", "resolved", "all"), default="open")
    listing.set_defaults(handler=run_list)
    show = disc_sub.add_parser("show", parents=[late], help="explain one discrepancy with its evidence")
    show.add_argument("id")
    show.set_defaults(handler=run_show)
    ack = disc_sub.add_parser("ack", parents=[late], help="acknowledge a discrepancy with a reason")
    ack.add_argument("id")
    ack.add_argument("--reason", required=True)
    ack.set_defaults(handler=run_ack)


def run_compare(args, loaded) -> int:
    def work(app) -> int:
        if args.as_of:
            from connector.compare.history import parse_instant, picture

            try:
                at = parse_instant(args.as_of)
                result = picture(app.store, app.config.compare, at)
            except ValueError as exc:
                print(f"connector: --as-of {args.as_of}: {exc}", file=sys.stderr)
                return 2
        else:
            result = app.compare(rebuild=args.rebuild)
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        return 0

    return with_app(loaded, work)


def run_list(args, loaded) -> int:
    from connector import commands

    return with_app(loaded, lambda app: commands.list_discrepancies(app, args.format, args.status))


def run_show(args, loaded) -> int:
    from connector import commands

    return with_app(loaded, lambda app: commands.show_discrepancy(app, args.id))


def run_ack(args, loaded) -> int:
    from connector import commands

    return with_app(loaded, lambda app: commands.ack_discrepancy(app, args.id, args.reason))
