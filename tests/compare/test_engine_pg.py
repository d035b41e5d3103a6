"""The engine on PostgreSQL (no SQLite screen: every unit evaluated with set-based loads): the same
findings as on SQLite, and a rebuild after ticks changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector.compare.engine import compare
from connector.config.schema import CompareSection
from connector.store.tables import discrepancies
from tests.compare.gate_world import GateWorld, on_postgres
from tests.support.wms import log  # noqa: F401

pytestmark = pytest.mark.external_service


@pytest.fixture
def world(tmp_path, log, fresh_pg_db):  # noqa: F811
    w = on_postgres(GateWorld(tmp_path, log), fresh_pg_db)
    yield w
    w.store.close()


def test_declaration_rules_on_postgresql_find_the_same_kinds_and_rebuild_changes_nothing(world):
    world.compare()
    world.move(qty="10", doc_ref="ASN-1")
    world.declare(no="QD1", doc_ref="ASN-1", qty="9.5")
    world.passport(no="HF1", qty="12", total_wt="10000", collect_wt="10400")
    world.stock_bill(no="X1", collected="1")
    world.clock.advance(days=40)
    world.compare()
    with world.store.read() as conn:
        kinds = sorted(r.kind for r in conn.execute(select(discrepancies)))
    assert kinds == ["collective_overdue", "passport_over_allocation", "quantity_mismatch", "weight_over_tolerance"]
    counts = compare(world.store, CompareSection(), routes={}, site="s", clock=world.clock, log=world.log,
                     rebuild=True)
    assert (counts["opened"], counts["updated"], counts["resolved"], counts["unchanged"]) == (0, 0, 0, 4)
