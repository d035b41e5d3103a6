"""Interleaved repeats: a figure and its baseline measured turn about, summarised by medians.

This VM's speed drifts by a third from hour to hour and by a tenth from minute to minute, so one
run of a figure and one of its baseline can land in different moments. Measured turn about
(ours, baseline, ours, baseline, …), each pair shares its moment; the ratio printed is the median of
the pairs' ratios, with the lowest and highest beside it, and each figure is its median.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from statistics import median
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")


def count(variable: str, default: int = 3) -> int:
    """How many pairs to run: the environment variable, at least 1."""
    return max(1, int(os.environ.get(variable, str(default))))


def pairs(times: int, ours: Callable[[], A], baseline: Callable[[], B]) -> list[tuple[A, B]]:
    """`times` runs of each, turn about, ours first."""
    return [(ours(), baseline()) for _ in range(times)]


def ratio_lines(name: str, ratios: list[float], unit: str, digits: int) -> list[str]:
    """The median ratio, then its lowest and highest over the pairs (`<name>_min`, `<name>_max`)."""
    return [f"BENCH {name} {median(ratios):.{digits}f} {unit}", f"BENCH {name}_min {min(ratios):.{digits}f} {unit}",
            f"BENCH {name}_max {max(ratios):.{digits}f} {unit}"]
