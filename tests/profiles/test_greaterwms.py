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
