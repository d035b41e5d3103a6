"""Odoo 17 on a real PostgreSQL: the story through `profile = "odoo17"` and the story mapping only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.profiles.conftest import STORY_END
from tests.profiles.loaders import load_postgres

pytestmark = pytest.mark.external_service


@pytest.fixture
def odoo(fresh_pg_db):
    load_postgres(fresh_pg_db, "odoo17")
    return fresh_pg_db


def _site(make_site, db):
    return make_site("odoo17", db.url, "story.toml", password=db.password)


def test_odoo17_story_ends_with_the_story_stock(make_site, odoo):
    site = _site(make_site, odoo)
    site.app.sync()
    assert site.stock() == STORY_END


def test_odoo17_done_line_edited_in_place_is_reversed_and_reposted(make_site, odoo):
    with odoo.connect(autocommit=True) as conn:  # the state before event 6: 25 left from A-01-01
        conn.execute("UPDATE stock_move_line SET quantity = 25, write_date = '2024-03-06 02:00:41' WHERE id = 5")
    site = _site(make_site, odoo)
    site.app.sync()
    assert site.stock()["NB-14-I7"] == 71
    with odoo.connect(autocommit=True) as conn:  # event 6, replayed now: Odoo stamps the edit time (UTC)
        conn.execute("UPDATE stock_move_line SET quantity = 23, "
                     "write_date = (now() AT TIME ZONE 'UTC') - interval '5 minutes' WHERE id = 5")
    site.app.sync()
    assert site.stock() == STORY_END
    assert site.revisions("5") == [1, 2]
    out = [(e.action, e.dcl_qty) for e in site.entries("WH/OUT/00001") if e.gds_mtno == "NB-14-I7"]
    assert sorted(out) == sorted([("decrease", Decimal(-25)), ("decrease", Decimal(-5)), ("reversal", Decimal(25)),
                                  ("decrease", Decimal(-23))])


def test_odoo17_cancelled_delivery_posts_nothing(make_site, odoo):
    site = _site(make_site, odoo)
    site.app.sync()
    assert site.entries("WH/OUT/00002") == []


def test_odoo17_customer_return_is_an_increase_into_the_zone(make_site, odoo):
    site = _site(make_site, odoo)
    site.app.sync()
    [entry] = site.entries("WH/IN/00002")
    assert (entry.gds_mtno, entry.direction, entry.action, entry.dcl_qty) == ("NB-14-I7", "I", "increase", 2)


def test_odoo17_times_are_read_as_utc(make_site, odoo):
    site = _site(make_site, odoo)
    site.app.sync()
    [entry] = site.entries("SP/00001")
    assert entry.occurred_at.isoformat() == "2024-03-09T02:30:00+00:00"
