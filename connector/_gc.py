"""Pausing Python's cyclic garbage collector while a backfill or a full rebuild runs.

Both allocate millions of short-lived objects that form no cycles (rows, tuples, rule inputs); the
collector's automatic passes walk the whole heap (SQLAlchemy's and pydantic's objects included) over
and over, a sixth of a backfill's time. Reference counting still frees those objects. The pause is
shared: a sync and a rebuild may overlap in the daemon's threads, so the collector is switched off
by the first caller and back on only when the last one leaves, and only if it was on before. A long
pause can collect the young generations itself (`collect_young`), so memory stays flat.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_STATE = {"holders": 0, "was_enabled": True}


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic cyclic collection inside; restored when the last holder leaves, also on error."""
    with _LOCK:
        if _STATE["holders"] == 0:
            _STATE["was_enabled"] = gc.isenabled()
            gc.disable()
        _STATE["holders"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["holders"] -= 1
            if _STATE["holders"] == 0 and _STATE["was_enabled"]:
                gc.enable()


def collect_young(limit: int) -> None:
    """Collect the young generations (never the whole heap) once more than `limit` new objects live."""
    if gc.get_count()[0] > limit:
        gc.collect(1)
