"""Comparator benchmarks: full reconciliation vs a pandas merge, and tick cost vs history size.

Sizes follow the issue (1,000,000 ledger entries, 1,000,000 核注清单 lines, 100,000 passports with
a truck line and a weighbridge reading each); COMPARE_BENCH_ENTRIES scales the full case down,
COMPARE_BENCH_HISTORY sets the large history of the tick case (default 10,000,000: SQLite generates
it in about two minutes). Each measured run happens in a child process so its peak RSS is its own.
The full case runs COMPARE_BENCH_REPEAT (default 3) rebuilds and pandas merges turn about
(bench/repeat.py): figures are medians, `compare_vs_pandas` the median of the pairs' ratios.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import median

from bench import compare_data as data
from bench import repeat

ENTRIES = int(os.environ.get("COMPARE_BENCH_ENTRIES", 1_000_000))
HISTORY = int(os.environ.get("COMPARE_BENCH_HISTORY", 10_000_000))
SMALL_HISTORY, TICK = 10_000, 1_000


def _child(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.compare_child", *args], check=True, capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_full(tmp: Path) -> Iterator[str]:
    generated = tmp / "generated.db"
    data.make_store(generated)
    data.add_entries(generated, 0, ENTRIES)
    data.add_lists(generated, ENTRIES // data.ITEMS_PER_DOC, min(100_000, ENTRIES // data.ITEMS_PER_DOC))
    runs = repeat.pairs(repeat.count("COMPARE_BENCH_REPEAT"), lambda: _rebuild(generated, tmp / "full.db"),
                        lambda: _child("pandas", str(generated)))
    opened = {ours["opened"] for ours, _ in runs}
    if len(opened) != 1:
        raise RuntimeError(f"rebuilds of the same store opened different counts: {sorted(opened)}")
    seconds = median(ours["seconds"] for ours, _ in runs)
    pandas = median(base["seconds"] for _, base in runs)
    rows = 2 * ENTRIES
    yield f"BENCH compare_full_s {seconds:.2f} s"
    yield f"BENCH compare_full_slowest_s {max(ours['seconds'] for ours, _ in runs):.2f} s"
    yield f"BENCH compare_full_peak_rss_mb {max(ours['peak_rss_mb'] for ours, _ in runs):.0f} MB"
    yield f"BENCH compare_full_rows_per_second {rows / seconds:.0f} rows/s"
    yield f"BENCH compare_full_discrepancies {opened.pop()} count"
    yield f"BENCH compare_pandas_merge_s {pandas:.2f} s"
    yield f"BENCH compare_pandas_rows_per_second {rows / pandas:.0f} rows/s"
    yield from repeat.ratio_lines("compare_vs_pandas", [o["seconds"] / b["seconds"] for o, b in runs], "ratio", 2)


def _rebuild(generated: Path, work: Path) -> dict:
    """One rebuild on a fresh copy of the generated store, flushed to disk first (its writeback
    would fall into the timed run); the baseline reads the generated store, which nothing changes."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(generated, work)
    os.sync()
    return _child("full", str(work))


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
