"""`make bench [ONLY=prefix]`: one line per figure, `BENCH <name> <value> <unit>`.

Each throughput figure comes with its ratio to a baseline measured in the same run on the same
data, so figures from different machines compare by ratio, not by absolute speed.
"""

from __future__ import annotations

import sys
import tempfile

from pathlib import Path

import importlib
import pkgutil

import bench


def all_cases() -> dict:
    """Every `CASES` dict of the `bench/case_*.py` modules, by case name."""
    cases: dict = {}
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda i: i.name):
        if info.name.startswith("case_"):
            cases.update(importlib.import_module(f"bench.{info.name}").CASES)
    return cases


def main(argv: list[str]) -> int:
    only = argv[0] if argv else ""
    for name, case in all_cases().items():
        if name.startswith(only):
            with tempfile.TemporaryDirectory() as tmp:
                for line in case(Path(tmp)):
                    print(line, flush=True)
    return 0



if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
