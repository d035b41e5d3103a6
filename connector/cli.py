"""The `connector` command: the daemon and every stage as a one-shot command.

Exit codes: 0 success, 1 a stage failed, 78 (EX_CONFIG) the configuration cannot be used (systemd
does not restart on 78), 2 wrong command-line usage.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from connector import logs
from connector.errors import EX_CONFIG, ConfigError, ConnectorError, StoreError

DEFAULT_CONFIG = "/etc/connector/config.toml"
# Command groups in their own modules: each has register(subparsers, late_parent), and sets a
# `handler(args, loaded) -> int` default on the parsers it adds.
COMMAND_GROUPS = ("connector.cli_discrepancies", "connector.cli_messages", "connector.cli_outbox", "connector.cli_sources",
                  "connector.cli_periods")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connector", description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", default=os.environ.get("CONNECTOR_CONFIG", DEFAULT_CONFIG),
                        help=f"configuration file (default: $CONNECTOR_CONFIG or {DEFAULT_CONFIG})")
    # -c is also accepted after the command (`connector check -c FILE`)
    late = argparse.ArgumentParser(add_help=False)
    late.add_argument("-c", "--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", parents=[late], help="run the daemon: scheduled sync, compare and deliver")
    for name, text in (("sync", "pull WMS sources, post the ledger, read declarations, once"),
                       ("deliver", "send due outbox messages once"),
                       ("status", "show cursors, counts, outbox and quarantine"),
                       ("check", "validate the configuration and try every connection it names")):
        sub.add_parser(name, parents=[late], help=text)
    demo = sub.add_parser("demo", help="run the whole chain on a generated demo warehouse")
    demo.add_argument("--dir", default="demo-run", help="work folder, wiped first (default: ./demo-run)")
    for module in COMMAND_GROUPS:
        importlib.import_module(module).register(sub, late)
    config = sub.add_parser("config", help="configuration tools")
    config.add_subparsers(dest="action", required=True).add_parser("validate", parents=[late],
                                                                   help="validate the file only")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        logs.configure("warning", "console" if sys.stderr.isatty() else "json")
        from connector.demo.run import run_demo

        return run_demo(Path(args.dir))
    try:
        return _dispatch(args)
    except BrokenPipeError:  # `connector ... | head`: the reader left; not an error
        sys.stderr.close()
        return 0
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EX_CONFIG
    except StoreError as exc:
        print(f"state store: {exc}", file=sys.stderr)
        return EX_CONFIG
    except ConnectorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    from connector.config.load import load

    loaded = load(args.config)
    logs.configure(loaded.config.logging.level, loaded.config.logging.format)
    if args.command == "config":
        print(f"{args.config}: ok")
        return 0
    if args.command == "check":
        from connector.commands import check

        return check(loaded)
    if args.command == "run":
        from connector.daemon import run_daemon

        return run_daemon(loaded, args.config)
    if hasattr(args, "handler"):
        return args.handler(args, loaded)
    return _one_shot(args, loaded)


def _one_shot(args: argparse.Namespace, loaded) -> int:
    from connector import commands
    from connector.app import App

    with App(loaded) as app:
        if args.command in ("sync", "deliver"):
            counts = getattr(app, args.command)()
            print(json.dumps(counts, indent=2, ensure_ascii=False, default=str))
            return 0
        return commands.status(app)


if __name__ == "__main__":
    sys.exit(main())
