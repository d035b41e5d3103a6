"""The shipped profiles through the raw pyodbc path: the same story end stock as through SQLAlchemy."""

from __future__ import annotations

import pyodbc
import pytest

from tests.profiles.conftest import STORY_END
from tests.profiles.loaders import load_mysql, load_postgres, load_sqlite

pytestmark = pytest.mark.external_service


def need(driver: str) -> None:
    if driver not in pyodbc.drivers():
        pytest.skip(f"ODBC driver {driver!r} not installed (scripts/sysdeps.sh installs it)")


def test_odoo17_through_psqlodbc_ends_with_the_story_stock(make_site, fresh_pg_db):
    need("PostgreSQL Unicode")
    load_postgres(fresh_pg_db, "odoo17")
    db = fresh_pg_db
    site = make_site("odoo17", f"Driver={{PostgreSQL Unicode}};Server={db.host};Port={db.port};Database={db.name};"
                     f"Uid={db.user}", "story.toml", password=db.password)
    site.app.sync()
    assert site.stock() == STORY_END


def test_modernwms_through_mariadb_odbc_ends_with_the_story_stock(make_site, mariadb):
    need("MariaDB Unicode")
    db = mariadb.create_database()
    try:
        load_mysql(db, "modernwms")
        site = make_site("modernwms", f"Driver={{MariaDB Unicode}};Server={db.host};Port={db.port};"
                         f"Database={db.name};Uid={db.user}", "story.toml", password=db.password)
        site.app.sync()
        assert site.stock() == STORY_END
    finally:
        mariadb.drop_database(db.name)


def test_modernwms_through_sqlite_odbc_ends_with_the_story_stock(make_site, tmp_path):
    need("SQLite3")
    path = tmp_path / "modernwms.db"
    load_sqlite(path, "modernwms")
    site = make_site("modernwms", f"Driver={{SQLite3}};Database={path}", "story.toml")
    site.app.sync()
    assert site.stock() == STORY_END
