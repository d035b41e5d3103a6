"""Comparator benchmarks: full reconciliation vs a pandas merge, and tick cost vs history size.

Sizes follow the issue (1,000,000 ledger entries, 1,000,000 核注清单 lines, 100,000 passports with
a truck line and a weighbridge reading each); COMPARE_BENCH_ENTRIES scales the full case down,
COMPARE_BENCH_HISTORY sets the large history of the tick case (default 10,000,000: SQLite generates
it in about two minutes). Each measured run happens in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench import compare_data as data

ENTRIES = int(os.environ.get("COMPARE_BENCH_ENTRIES", 1_000_000))
HISTORY = int(os.environ.get("COMPARE_BENCH_HISTORY", 10_000_000))
SMALL_HISTORY, TICK = 10_000, 1_000


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.compare_child", *args], check=True, capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_full(tmp: Path) -> Iterator[str]:
    path = tmp / "full.db"
    data.make_store(path)
    data.add_entries(path, 0, ENTRIES)
    data.add_lists(path, ENTRIES // data.ITEMS_PER_DOC, min(100_000, ENTRIES // data.ITEMS_PER_DOC))
    os.sync()  # the generated store written out first: its writeback would fall into the timed run
    ours = _child("full", str(path))
    pandas = _child("pandas", str(path))
    rows = 2 * ENTRIES
    yield f"BENCH compare_full_s {ours['seconds']:.2f} s"
    yield f"BENCH compare_full_peak_rss_mb {ours['peak_rss_mb']:.0f} MB"
    yield f"BENCH compare_full_rows_per_second {rows / ours['seconds']:.0f} rows/s"
    yield f"BENCH compare_full_discrepancies {ours['opened']} count"
    yield f"BENCH compare_pandas_merge_s {pandas['seconds']:.2f} s"
    yield f"BENCH compare_pandas_rows_per_second {rows / pandas['seconds']:.0f} rows/s"
    yield f"BENCH compare_vs_pandas {ours['seconds'] / pandas['seconds']:.2f} ratio"


def _tick_seconds(tmp: Path, history: int) -> float:
    path = tmp / f"tick-{history}.db"
    data.make_store(path)
    data.add_entries(path, 0, history)
    data.add_lists(path, history // data.ITEMS_PER_DOC, 0)
    os.sync()
    return _child("tick", str(path), str(history), str(TICK))["seconds"]


def bench_tick(tmp: Path) -> Iterator[str]:
    small = _tick_seconds(tmp, SMALL_HISTORY)
    large = _tick_seconds(tmp, HISTORY)
    yield f"BENCH compare_tick_small_history_s {small:.3f} s"
    yield f"BENCH compare_tick_large_history_s {large:.3f} s"
    yield f"BENCH compare_tick_large_history_entries {HISTORY} entries"
    yield f"BENCH compare_tick_history_ratio {large / small:.2f} ratio"


CASES = {"compare_full": bench_full, "compare_tick": bench_tick}

if __name__ == "__main__":
    for case in CASES.values():
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            for line in case(Path(folder)):
                print(line, flush=True)
    time.sleep(0)
