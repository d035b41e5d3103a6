"""connector/_gc.py: the collector pause shared by a sync and a rebuild."""

from __future__ import annotations

import gc

from connector._gc import collector_paused


def test_overlapping_holders_turn_the_collector_on_when_the_last_one_leaves():
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pause_ending_in_an_error_still_turns_the_collector_back_on():
    try:
        with collector_paused():
            raise RuntimeError("store write failed")
    except RuntimeError:
        pass
    assert gc.isenabled()
