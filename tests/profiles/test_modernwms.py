"""ModernWMS on SQLite and on a real MariaDB: the story through `profile = "modernwms"` only."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest
from sqlalchemy import select

from connector.store.tables import discrepancies

from tests.profiles.conftest import STORY_END
from tests.profiles.loaders import load_mysql, load_sqlite


@pytest.fixture(params=["sqlite", "mariadb"])
def modern(request, tmp_path):
    """(url, password, execute) for a loaded ModernWMS database on each engine."""
    if request.param == "sqlite":
        path = tmp_path / "modernwms.db"
        load_sqlite(path, "modernwms")

        def execute(sql: str) -> None:
            with sqlite3.connect(path) as db:
                db.execute(sql)
        yield f"sqlite:///{path}", None, execute
        return
    server = request.getfixturevalue("mariadb")
    db = server.create_database()
    load_mysql(db, "modernwms")

    def execute_mysql(sql: str) -> None:
        conn = db.connect()
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()
    yield db.url, db.password, execute_mysql
    server.drop_database(db.name)


def _site(make_site, modern):
    url, password, _ = modern
    return make_site("modernwms", url, "story.toml", password=password)


def test_modernwms_story_ends_with_the_story_stock(make_site, modern):
    site = _site(make_site, modern)
    site.app.sync()
    assert site.stock() == STORY_END


def test_modernwms_correction_is_the_count_adjustment_of_plus_2(make_site, modern):
    site = _site(make_site, modern)
    site.app.sync()
    [entry] = site.entries("ST20240307002")
    assert (entry.gds_mtno, entry.dcl_qty, entry.needs_list) == ("NB-14-I7", 2, False)


def test_modernwms_cancelled_delivery_posts_nothing_and_return_is_an_increase(make_site, modern):
    site = _site(make_site, modern)
    site.app.sync()
    assert site.entries("DN20240306002") == []
    [entry] = site.entries("ASN20240308001")
    assert (entry.gds_mtno, entry.direction, entry.dcl_qty) == ("NB-14-I7", "I", 2)


def test_modernwms_growing_receipt_posts_only_the_difference(make_site, modern):
    _, _, execute = modern
    execute("UPDATE asn SET actual_qty = 60, last_update_time = '2024-03-04 09:10:00' WHERE id = 1")
    site = _site(make_site, modern)
    site.app.sync()
    assert site.stock()["NB-14-I7"] == 33
    execute("UPDATE asn SET actual_qty = 100, last_update_time = '2024-03-09 11:00:00' WHERE id = 1")
    site.app.sync()
    assert site.stock() == STORY_END
    assert site.revisions("asn:1") == [1, 2]


def test_modernwms_reconciliation_against_stock_finds_nothing_on_the_story(make_site, modern):
    site = _site(make_site, modern)
    site.app.sync()
    counts = site.app.reconcile()["source:wms"]
    assert counts.get("opened", 0) == 0 and counts["items"] == 3


def test_modernwms_hard_deleted_line_surfaces_in_the_reconciliation(make_site, modern):
    _, _, execute = modern
    site = _site(make_site, modern)
    site.app.sync()
    execute("DELETE FROM stock WHERE id = 5")  # 2 returned laptops vanish from the bin
    counts = site.app.reconcile()["source:wms"]
    assert counts["opened"] == 1
    with site.app.store.read() as conn:
        [row] = conn.execute(select(discrepancies)).all()
    assert (row.kind, row.item_seq, row.expected_qty, row.actual_qty, row.delta_qty) == (
        "wms_snapshot_mismatch", 1, Decimal(71), Decimal(73), Decimal(2))
