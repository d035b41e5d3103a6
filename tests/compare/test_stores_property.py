"""The comparator gives the same discrepancies on SQLite and on PostgreSQL (hypothesis).

The two stores take different paths through a rebuild and a tick: SQLite screens documents, lists
and passports in SQL and sums balances there; PostgreSQL evaluates every unit with set-based loads;
their drivers bind and return times, quantities and JSON differently. One random history (every
step of test_incremental.py: movements, lists, passports, bills, dispatches, write-offs, ticks,
clock moves) is played into a SQLite and a PostgreSQL store side by side; after a last tick both
must hold the same discrepancies (status, version, figures, details, evidence) and the same ones
in flight, and again after a full rebuild of each.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from connector.compare.engine import compare
from connector.config.secrets import Secret
from connector.mapping_file import load_mapping
from connector.store.engine import Store
from connector.store.tables import discrepancies
from connector.store.tables_compare import compare_pending
from tests.compare.gate_world import on_postgres
from tests.compare.test_incremental import ITEMS, SETTINGS, TYPES, play, step
from tests.compare.wms_world import WmsWorld
from tests.support.wms import log, write_mapping  # noqa: F401

pytestmark = pytest.mark.external_service
FIGURES = ("kind", "status", "version", "ledger_no", "item_seq", "item_no", "doc_refs", "expected_qty", "actual_qty",
           "delta_qty", "unit", "details", "content_hash", "unit_key", "evidence", "first_seen", "last_seen",
           "resolved_at")


@pytest.fixture(scope="module")
def pg_template(postgres):
    """A migrated PostgreSQL store to copy for each history (migrating each would dominate the run)."""
    db = postgres.create_database()
    Store.open(db.url, password=Secret(db.password, "${TEST_STORE_PASSWORD}")).close()
    yield db
    postgres.drop_database(db.name)


def picture(world: WmsWorld) -> tuple[dict, set]:
    with world.store.read() as conn:
        rows = {r.id: {k: getattr(r, k) for k in FIGURES} for r in conn.execute(select(discrepancies))}
        held = set(conn.execute(select(compare_pending.c.id)).scalars())
    return rows, held


@pytest.mark.timeout(600)  # 30 histories, each on a fresh copy of the PostgreSQL template
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=25))
def test_any_history_gives_the_same_discrepancies_on_sqlite_and_postgresql(tmp_path_factory, postgres, pg_template,
                                                                          log, steps):  # noqa: F811
    db = postgres.create_database(template=pg_template.name)
    worlds = []
    try:
        for name in ("sqlite", "postgresql"):
            folder = tmp_path_factory.mktemp(name)
            world = WmsWorld(folder, log)
            world.mapping = load_mapping(write_mapping(folder / "items2.toml", items=ITEMS, movement_types=TYPES))
            worlds.append(on_postgres(world, db) if name == "postgresql" else world)
        for action in [*steps, ("tick",)]:
            for world in worlds:
                play(world, action)
        assert picture(worlds[0]) == picture(worlds[1]), steps
        for world in worlds:  # SQLite's rebuild screens in SQL, PostgreSQL's loads every unit
            world.clock.advance(hours=1)
            compare(world.store, SETTINGS, routes={}, site="s", clock=world.clock, log=world.log, rebuild=True)
        assert picture(worlds[0]) == picture(worlds[1]), steps
    finally:
        for world in worlds:
            world.store.close()
        postgres.drop_database(db.name)
