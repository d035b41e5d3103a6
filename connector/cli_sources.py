"""Commands of the sources group (none yet)."""

from __future__ import annotations


def register(sub, late) -> None:
    """Add this group's subcommands to `sub`; each sets handler(args, loaded) -> int."""
