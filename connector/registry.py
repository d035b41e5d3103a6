"""Adapter registry: entry points, loaded lazily, type-checked after loading.

Built-ins are registered in pyproject.toml the same way a third-party package registers its own,
so a missing ODBC driver or library only matters to the adapter that needs it.
"""

from __future__ import annotations

import difflib
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from connector.abc import DeclarationSource, Sink, SourceAdapter

GROUPS: dict[str, type] = {
    "connector.sources": SourceAdapter,
    "connector.declarations": DeclarationSource,
    "connector.sinks": Sink,
}


@cache
def available(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def names(group: str) -> list[str]:
    return sorted(available(group))


def load(group: str, alias: str) -> type:
    """The adapter class registered as `alias`; LookupError (with a suggestion) if there is none."""
    eps = available(group)
    if alias not in eps:
        close = difflib.get_close_matches(alias, eps, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(eps)) or 'none'}"
        raise LookupError(f"no adapter {alias!r} in {group}{hint}")
    cls = eps[alias].load()
    base = GROUPS[group]
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(f"entry point {alias!r} in {group} is not a {base.__name__}")
    return cls
