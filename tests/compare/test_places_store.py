"""C7 located stock kept in `compare_places`: ticks add their entries, equal to a refill; turned on
later, the first tick fills it and evaluates every line; turned off, it is emptied."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connector.compare import load_wms, places_store
from connector.config.schema import CompareSection
from tests.compare.test_engine_wms import S, found, rebuild_changes_nothing, world  # noqa: F401 (world: the fixture)
from tests.support.wms import log  # noqa: F401


def kept(w) -> dict:
    with w.store.read() as conn:
        return places_store.read(conn, None)


def summed(w) -> dict:
    with w.store.read() as conn:
        return {k: [m, Decimal(format(q.normalize(), "f")) if q else Decimal(0), t]
                for k, (m, q, t) in load_wms.located(conn, None).items()}


def test_ticks_add_their_entries_to_the_places_and_equal_a_sum_over_every_entry(world):  # noqa: F811
    world.ship(line_key="R1", vehicle=None, location="NB-01", lot="L-7", movement_type="receipt")
    world.compare(settings=S)  # the first run: filled whole
    world.ship(line_key="R2", vehicle=None, location="A-01", qty="2.50", movement_type="receipt")
    world.ship(line_key="R1", vehicle=None, location="A-01", lot=None, qty="4", movement_type="receipt")  # revised
    world.ship(line_key="R3", vehicle=None, qty="1", movement_type="receipt")  # no location
    world.compare(settings=S)
    assert kept(world) == summed(world)
    assert {k[2:]: v[1] for k, v in kept(world).items()} == {
        ("NB-01", "L-7"): Decimal(0), ("A-01", None): Decimal("6.5"), ("", None): Decimal(1)}
    assert rebuild_changes_nothing(world)


def test_a_tick_never_re_sums_a_ledger_lines_history(world, monkeypatch):  # noqa: F811
    world.ship(line_key="R1", vehicle=None, location="NB-01", movement_type="receipt")
    world.compare(settings=S)
    monkeypatch.setattr(load_wms, "located", lambda *a, **k: pytest.fail("a tick re-summed the history"))
    world.ship(line_key="R2", vehicle=None, location="NB-01", movement_type="receipt")
    world.compare(settings=S)
    [d] = found(world)["bonded_status_mismatch"]
    assert d.actual_qty == Decimal(10)


def test_c7_turned_on_later_fills_the_places_and_evaluates_every_line(world):  # noqa: F811
    world.ship(line_key="R1", vehicle=None, location="NB-01", movement_type="receipt")
    world.compare(settings=CompareSection())
    assert kept(world) == {}
    world.compare(settings=S)  # a tick with no new entry at all
    assert kept(world) == summed(world)
    [d] = found(world)["bonded_status_mismatch"]  # on a line no entry of this tick touched
    assert (d.unit_key, d.details["location"]) == ("place|T2345W000001|1", "NB-01")
    assert rebuild_changes_nothing(world)


def test_c7_turned_off_empties_the_places(world):  # noqa: F811
    world.ship(line_key="R1", vehicle=None, location="NB-01", movement_type="receipt")
    world.compare(settings=S)
    assert kept(world)
    world.compare(settings=CompareSection())
    assert kept(world) == {}
