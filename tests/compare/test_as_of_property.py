"""`compare --as-of T` reproduces the picture at T: a property test over random histories (hypothesis).

A random history (every step of test_incremental.py) runs up to an instant T, where a copy of the
store is taken; then more WMS-side steps follow (movements and their revisions, backdated or not,
dispatches, ticks, clock moves). The picture `history.picture` draws for T from the final store must
be what the rules find on the copy at T (its derived tables rebuilt): the same discrepancies with
the same figures, details and evidence, and as many held in flight. Declaration rows keep only
their latest state (a change after T is left out, not reproduced), so the steps after T change none.
On the code before `--as-of` read C5's dispatches from the movement revisions, a single dispatch
and no comparison run failed.
"""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connector.clock import FixedClock
from connector.compare.engine import compare
from connector.compare.history import _row as shown  # the picture's own row shape
from connector.compare.history import picture
from connector.compare.units import evaluate
from connector.mapping_file import load_mapping
from connector.store.engine import Store
from tests.compare.test_incremental import ITEMS, SETTINGS, TYPES, fast_folder, move, play, ship, step  # noqa: F401
from tests.compare.wms_world import WmsWorld
from tests.support.wms import log, write_mapping  # noqa: F401

after = st.one_of(move, move, ship, st.tuples(st.just("advance"), st.integers(1, 40)), st.just(("tick",)))

REVISED_AFTER = (  # a line posted before T, revised and backdated after it; a dispatch re-sent on another vehicle
    [("move", "L1", "SKU-1", 5, "ASN-1", "receipt", 30), ("ship", "S1", 2, "V1", "100", 3, "NB-1", "issue"),
     ("declare", "QD1", "ASN-1", 5, "I", "0", 20, "MT-1"), ("tick",)],
    [("move", "L1", "SKU-1", 7, "ASN-1", "receipt", 40), ("ship", "S1", 2, "V2", "130", 3, None, "issue"),
     ("tick",), ("advance", 30)])


def copy_store(world: WmsWorld, folder) -> str:
    """A consistent copy of the world's store as it stands (SQLite's online backup: WAL included)."""
    target = folder / "at_t.db"
    source = sqlite3.connect(world.store_folder / "state.db")
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return f"sqlite:///{target}"


def rebuilt(url: str, at, log) -> tuple[list[dict], int]:  # noqa: F811
    """What the rules find on the copy at T, its derived tables rebuilt first (the stored rows would
    not do: a finding whose figures did not change keeps the times of its first version, and an open
    one held back in flight keeps its earlier figures): the findings as `picture` shows them, and
    how many are held in flight."""
    store = Store.open(url)
    try:
        compare(store, SETTINGS, routes={}, site="s", clock=FixedClock(at), log=log, rebuild=True)
        with store.read() as conn:
            outcome = evaluate(conn, None, SETTINGS, at)
    finally:
        store.close()
    return [shown(d) for d, _ in outcome.found], len(outcome.held)


@pytest.mark.timeout(300)  # 40 histories, each with a store copy, a rebuild and two evaluations
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(before=REVISED_AFTER[0], later=REVISED_AFTER[1])
@given(before=st.lists(step, max_size=20), later=st.lists(after, max_size=10))
def test_picture_as_of_an_instant_equals_the_findings_on_the_store_as_it_stood_then(fast_folder, log, before, later):  # noqa: F811
    folder = fast_folder()
    world = WmsWorld(folder, log)
    world.mapping = load_mapping(write_mapping(folder / "items2.toml", items=ITEMS, movement_types=TYPES))
    try:
        for action in before:
            play(world, action)
        at, url = world.clock.now(), copy_store(world, folder)
        world.clock.advance(seconds=1)  # what happens after T happens after it, not at it
        for action in later:
            play(world, action)
        drawn = picture(world.store, SETTINGS, at)
    finally:
        world.store.close()
    expected, held = rebuilt(url, at, log)
    assert sorted(drawn["discrepancies"], key=by_id) == sorted(expected, key=by_id), (before, later)
    assert drawn["in_flight"] == held, (before, later)


def by_id(finding: dict) -> str:
    return finding["id"]
