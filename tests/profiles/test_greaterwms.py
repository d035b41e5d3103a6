"""GreaterWMS on SQLite: the signed qtyrecorder log by an id cursor, reconciled against stockbin."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest
from sqlalchemy import select

from connector.store.tables import discrepancies
from tests.profiles.loaders import load_sqlite

# The story's end stock per bin, as GreaterWMS's stockbin holds it (written for this test: the
# fixture has no stockbin rows). Copper wire in grams.
STOCKBIN = [("A-01-01", "NB-14-I7", 58), ("B-02-03", "NB-14-I7", 15), ("A-01-01", "SSD-1TB", 382),
            ("B-02-03", "CU-WIRE-2.5", 1247000)]


@pytest.fixture
def greater(tmp_path):
    path = tmp_path / "greaterwms.db"
    load_sqlite(path, "greaterwms")
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO stockbin (bin_name, goods_code, goods_desc, goods_qty, pick_qty, picked_qty, "
                       "bin_size, bin_property, t_code, openid, create_time) "
                       "VALUES (?, ?, '', ?, 0, 0, '', '', '', '', '2024-03-09 10:30:00')", STOCKBIN)
    return path


def _site(make_site, path):
    return make_site("greaterwms", f"sqlite:///{path}", "greaterwms.toml")


def test_greaterwms_log_gives_the_ledger_without_the_count_adjustments(make_site, greater):
    site = _site(make_site, greater)
    site.app.sync()
    assert site.stock() == {"NB-14-I7": 72, "SSD-1TB": 380, "CU-WIRE-2.5": Decimal("1250.5")}


def test_greaterwms_missing_count_adjustment_surfaces_against_stockbin(make_site, greater):
    site = _site(make_site, greater)
    site.app.sync()
    counts = site.app.reconcile()["source:wms"]
    assert counts["opened"] == 3
    with site.app.store.read() as conn:
        rows = {r.item_seq: r for r in conn.execute(select(discrepancies))}
    wms_vs_ledger = {seq: (r.expected_qty, r.actual_qty, r.delta_qty) for seq, r in rows.items()}
    assert wms_vs_ledger == {1: (73, 72, -1), 2: (382, 380, -2), 3: (Decimal("1247"), Decimal("1250.5"), Decimal("3.5"))}
    assert {r.kind for r in rows.values()} == {"wms_snapshot_mismatch"}


def test_greaterwms_reconciliation_twice_opens_nothing_new(make_site, greater):
    site = _site(make_site, greater)
    site.app.sync()
    site.app.reconcile()
    assert site.app.reconcile()["source:wms"]["unchanged"] == 3


def test_greaterwms_mismatch_resolved_once_the_wms_log_agrees(make_site, greater):
    site = _site(make_site, greater)
    site.app.sync()
    site.app.reconcile()
    with sqlite3.connect(greater) as db:
        db.execute("UPDATE stockbin SET goods_qty = goods_qty - 1 WHERE goods_code = 'NB-14-I7' AND bin_name = 'A-01-01'")
    assert site.app.reconcile()["source:wms"]["resolved"] == 1


def _pick(db_path, qty: int = -2, goods: str = "SSD-1TB", bin_name: str = "A-01-01") -> None:
    """One picking as GreaterWMS writes it: a signed log row and the bin's on-hand, together."""
    with sqlite3.connect(db_path) as db:
        db.execute("INSERT INTO qtyrecorder (openid, mode_code, bin_name, goods_code, goods_desc, goods_qty, "
                   "store_code, creater, create_time) VALUES ('', 'DN20240310000001', ?, ?, '', ?, '', '', "
                   "'2024-03-10 09:00:00')", (bin_name, goods, qty))
        db.execute("UPDATE stockbin SET goods_qty = goods_qty + ? WHERE goods_code = ? AND bin_name = ?",
                   (qty, goods, bin_name))


def _stock_differences(site) -> dict[int, tuple]:
    """Per ledger line: status and ledger minus WMS (the figures on each side move with the stock)."""
    with site.app.store.read() as conn:
        return {r.item_seq: (r.status, r.delta_qty) for r in conn.execute(select(discrepancies))}


def _reconciled(make_site, greater):
    """A site synced and reconciled once (the story's three differences open), and those differences."""
    site = _site(make_site, greater)
    site.app.sync()
    site.app.reconcile()
    return site, _stock_differences(site)


def test_greaterwms_movement_the_sync_has_not_read_leaves_every_difference_as_it_was(make_site, greater):
    """The snapshot already holds a picking the ledger does not: in flight, not a new difference."""
    site, before = _reconciled(make_site, greater)
    _pick(greater)
    counts = site.app.reconcile()["source:wms"]
    assert (counts.get("opened", 0), counts.get("resolved", 0), counts["unsettled"]) == (0, 0, 0)
    assert _stock_differences(site) == before  # SSD-1TB: on hand 380, ledger with the picking 378: still -2


def test_greaterwms_without_a_cursor_unsynced_pickings_are_found_page_by_page_and_left_in_flight(
        make_site, greater, monkeypatch):
    """`cursor = "snapshot"` keeps no cursor: the reconciliation reads the log in pages (here of 2
    rows) and counts the lines whose content was not staged yet as in flight."""
    from connector import reconcile_flight

    monkeypatch.setattr(reconcile_flight, "PAGE", 2)
    site = make_site("greaterwms", f"sqlite:///{greater}", "greaterwms.toml", settings=('cursor = "snapshot"',))
    site.app.sync()
    site.app.reconcile()
    before = _stock_differences(site)
    _pick(greater)
    _pick(greater, qty=-3, goods="NB-14-I7", bin_name="B-02-03")
    counts = site.app.reconcile()["source:wms"]
    assert (counts.get("opened", 0), counts.get("resolved", 0), counts["unsettled"]) == (0, 0, 0)
    assert _stock_differences(site) == before and len(before) == 3


def test_greaterwms_movement_staged_but_not_posted_counts_as_in_flight(make_site, greater):
    from connector import sync

    site, before = _reconciled(make_site, greater)
    _pick(greater)
    sync.sync_source(site.app.store, "wms", site.app.adapter("sources", "wms"), clock=site.app.clock,
                     log=site.app.log, batch_size=100)  # staged, the ledger stage not run
    counts = site.app.reconcile()["source:wms"]
    assert (counts.get("opened", 0), counts.get("resolved", 0)) == (0, 0)
    assert _stock_differences(site) == before


def test_greaterwms_difference_seen_by_one_look_only_leaves_its_discrepancy_as_it_was(make_site, greater,
                                                                                      monkeypatch):
    """A picking committed between reading the snapshot and the log shows in one look, not both."""
    site, before = _reconciled(make_site, greater)
    adapter = site.app.adapter("sources", "wms")
    real, looks = adapter.snapshot, []

    def moving_snapshot():
        rows = real()
        looks.append(rows)
        return [{**r, "qty": r["qty"] - 1} if len(looks) == 1 and r["sku"] == "SSD-1TB" else r for r in rows]

    monkeypatch.setattr(adapter, "snapshot", moving_snapshot)
    counts = site.app.reconcile()["source:wms"]
    assert len(looks) == 2 and counts["unsettled"] == 1 and counts["unchanged"] == 2
    with site.app.store.read() as conn:
        assert all(r.version == 1 for r in conn.execute(select(discrepancies)))  # not updated, not resolved
    assert _stock_differences(site) == before


def test_greaterwms_picking_between_the_two_looks_moves_the_figures_not_the_difference(make_site, greater,
                                                                                     monkeypatch):
    site, before = _reconciled(make_site, greater)
    adapter = site.app.adapter("sources", "wms")
    real, calls = adapter.in_flight, []

    def then_a_picking(cursor, limit):
        found = real(cursor, limit)
        calls.append(found)
        if len(calls) == 1:
            _pick(greater)  # committed after the first look, before the second
        return found

    monkeypatch.setattr(adapter, "in_flight", then_a_picking)
    counts = site.app.reconcile()["source:wms"]
    assert len(calls) == 2 and counts["unsettled"] == 0 and counts.get("resolved", 0) == 0
    assert _stock_differences(site) == before


def test_greaterwms_more_lines_in_flight_than_the_limit_skips_the_comparison(make_site, greater, monkeypatch):
    from connector import reconcile_flight

    site, before = _reconciled(make_site, greater)
    _pick(greater)
    _pick(greater, qty=-1)
    monkeypatch.setattr(reconcile_flight, "LIMIT", 1)
    assert site.app.reconcile()["source:wms"] == {"skipped": 1}
    assert _stock_differences(site) == before


def test_greaterwms_id_cursor_reads_only_new_log_rows(make_site, greater):
    site = _site(make_site, greater)
    site.app.sync()
    with sqlite3.connect(greater) as db:
        db.execute("INSERT INTO qtyrecorder (openid, mode_code, bin_name, goods_code, goods_desc, goods_qty, "
                   "store_code, creater, create_time) VALUES ('', 'DN20240310000001', 'A-01-01', 'SSD-1TB', '', -2, "
                   "'', '', '2024-03-10 09:00:00')")
    pulled = site.app.sync()["source:wms"]["pulled"]
    assert (pulled["read"], pulled["new"]) == (1, 1)
    assert site.stock()["SSD-1TB"] == 378
