"""bench/repeat.py: interleaved pairs and the median ratio lines `make bench` prints."""

from __future__ import annotations

from bench import repeat


def test_pairs_run_ours_and_the_baseline_turn_about_ours_first():
    calls: list[str] = []

    def run(name: str) -> int:
        calls.append(name)
        return len(calls)

    assert repeat.pairs(3, lambda: run("ours"), lambda: run("base")) == [(1, 2), (3, 4), (5, 6)]
    assert calls == ["ours", "base"] * 3


def test_ratio_lines_print_the_median_then_the_lowest_and_highest():
    assert repeat.ratio_lines("x_ratio", [1.5, 0.9, 1.2], "x", 2) == [
        "BENCH x_ratio 1.20 x", "BENCH x_ratio_min 0.90 x", "BENCH x_ratio_max 1.50 x"]


def test_count_reads_the_variable_and_never_goes_below_one(monkeypatch):
    monkeypatch.delenv("BENCH_TEST_REPEAT", raising=False)
    assert repeat.count("BENCH_TEST_REPEAT") == 3
    monkeypatch.setenv("BENCH_TEST_REPEAT", "0")
    assert repeat.count("BENCH_TEST_REPEAT") == 1
    monkeypatch.setenv("BENCH_TEST_REPEAT", "5")
    assert repeat.count("BENCH_TEST_REPEAT") == 5
