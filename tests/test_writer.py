"""The sync's writer thread: batches committed in order, nothing after a failed one, errors raised."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from connector._writer import BatchWriter
from connector.model import Batch


def batch(n: int) -> Batch:
    return Batch([], [], {"line_key": n}, exhausted=False)


def test_batches_are_staged_in_the_order_they_were_handed_over_in_another_thread():
    staged, threads = [], set()

    def stage(b: Batch) -> Counter:
        staged.append(b.cursor["line_key"])
        threads.add(threading.current_thread().name)
        return Counter(read=1)

    with BatchWriter(stage) as writer:
        for n in range(20):
            writer.put(batch(n))
    assert staged == list(range(20))
    assert writer.counts == {"read": 20}
    assert threads == {"sync-writer"}


def test_a_failed_batch_stops_the_writer_and_its_error_reaches_the_reader():
    staged = []

    def stage(b: Batch) -> Counter:
        if b.cursor["line_key"] == 2:
            raise OSError("disk gone")
        staged.append(b.cursor["line_key"])
        return Counter(read=1)

    with pytest.raises(OSError, match="disk gone"), BatchWriter(stage) as writer:
        for n in range(10):
            writer.put(batch(n))
    assert staged == [0, 1]  # nothing after the failed batch: its cursor would have skipped it


def test_a_failing_reader_still_commits_what_it_handed_over():
    staged = []

    def stage(b: Batch) -> Counter:
        staged.append(b.cursor["line_key"])
        return Counter()

    with pytest.raises(TimeoutError), BatchWriter(stage) as writer:
        writer.put(batch(0))
        writer.put(batch(1))
        raise TimeoutError("the WMS went away")
    assert staged == [0, 1]


def test_a_growing_writer_moves_to_its_spawned_writer_once_past_the_threshold_keeping_the_order():
    from connector._writer import GrowingWriter

    staged, spawned = [], []

    def stage(where):
        return lambda b: (staged.append((where, b.cursor["line_key"])), Counter(read=1))[1]

    def spawn():
        spawned.append(1)
        return BatchWriter(stage("spawned"))

    rows = Batch([object()] * 10, [], None, exhausted=False)
    with GrowingWriter(stage("thread"), spawn, threshold=25) as writer:
        for n in range(6):
            writer.put(Batch(rows.movements, [], {"line_key": n}, exhausted=False))
    assert staged == [("thread", 0), ("thread", 1), ("thread", 2), ("spawned", 3), ("spawned", 4), ("spawned", 5)]
    assert spawned == [1] and writer.counts == {"read": 6}


def test_a_growing_writer_whose_source_is_exhausted_never_spawns():
    from connector._writer import GrowingWriter

    def spawn():
        raise AssertionError("no child for the last batch")

    with GrowingWriter(lambda b: Counter(read=1), spawn, threshold=1) as writer:
        writer.put(Batch([object()] * 5, [], {"line_key": 0}, exhausted=True))
    assert writer.counts == {"read": 1}


def test_a_growing_writer_starts_its_child_at_half_the_threshold_and_stops_it_unused_if_the_run_ends():
    from connector._writer import GrowingWriter

    started, staged, abandoned = [], [], []

    class Child(BatchWriter):
        def abandon(self) -> None:
            abandoned.append(True)
            super().abandon()

    def spawn():
        started.append(len(staged))
        return Child(lambda b: Counter(child=1))

    rows = [object()] * 10
    with GrowingWriter(lambda b: (staged.append(b.cursor["line_key"]), Counter(read=1))[1], spawn, 40) as writer:
        for n in range(3):
            writer.put(Batch(rows, [], {"line_key": n}, exhausted=n == 2))
    assert started and abandoned == [True]  # started once 20 rows were handed over, never used
    assert writer.counts == {"read": 3}
