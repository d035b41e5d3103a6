"""Commands of the comparator: `compare` and `discrepancies ...`."""

from __future__ import annotations

import json


def register(sub, late) -> None:
    compare = sub.add_parser("compare", parents=[late], help="run the comparator once")
    compare.set_defaults(handler=run_compare)
    disc = sub.add_parser("discrepancies", help="discrepancies found by the comparator")
    disc_sub = disc.add_subparsers(dest="action", required=True)
    listing = disc_sub.add_parser("list", parents=[late], help="list discrepancies")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.add_argument("--status", choices=("open", "resolved", "all"), default="open")
    listing.set_defaults(handler=run_list)


def run_compare(args, loaded) -> int:
    from connector.app import App

    app = App(loaded)
    try:
        print(json.dumps(app.compare(), indent=2, ensure_ascii=False, default=str))
        return 0
    finally:
        app.close()


def run_list(args, loaded) -> int:
    from connector import commands
    from connector.app import App

    app = App(loaded)
    try:
        return commands.list_discrepancies(app, args.format, args.status)
    finally:
        app.close()
