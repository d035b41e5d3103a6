"""C4 WMS gross, C5, C7 (and its conversions) and C9 on PostgreSQL: the grouped period and location sums,
the dispatch join and the passport lookups by vehicle give the same findings in ticks and in a rebuild."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from connector.compare.engine import compare
from connector.config.schema import CompareSection
from connector.mapping_file import load_mapping
from connector.store.tables import discrepancies
from tests.compare.gate_world import on_postgres
from tests.compare.test_engine import LONG_AGO
from tests.compare.test_engine_conversion import CONVERSIONS, book
from tests.compare.wms_world import WmsWorld
from tests.support.wms import log, write_mapping  # noqa: F401

pytestmark = pytest.mark.external_service
S = CompareSection(non_bonded_locations=["NB-*"], writeoff_period_months=1, writeoff_since=date(2025, 1, 1))


@pytest.fixture
def world(tmp_path, log, fresh_pg_db):  # noqa: F811
    w = on_postgres(WmsWorld(tmp_path, log), fresh_pg_db)
    yield w
    w.store.close()


def test_new_rules_on_postgresql_tick_and_rebuild_alike(world):
    world.compare(settings=S)
    world.ship(line_key="R1", vehicle=None, location="NB-1", movement_type="receipt", at=LONG_AGO - timedelta(days=20))
    world.ship(line_key="S1", vehicle="V1", gross="100")
    world.truck(no="HF1", vehicle="V1", at=LONG_AGO + timedelta(hours=1), gross="130")
    world.ship(line_key="S2", vehicle="V2")
    world.approve_writeoff(begin=LONG_AGO, lines=[(1, "5", "0", "10", "0", "0")])
    world.clock.advance(days=70)  # February is approved; March's filing warning opens on 05-17
    world.compare(settings=S)
    with world.store.read() as conn:
        kinds = sorted(r.kind for r in conn.execute(select(discrepancies).where(discrepancies.c.status == "open")))
    assert kinds == ["bonded_status_mismatch", "dispatch_without_passport", "missing_list", "missing_list",
                     "missing_list", "weight_over_tolerance", "writeoff_due", "writeoff_imbalance",
                     "writeoff_imbalance"]
    counts = compare(world.store, S, routes={}, site="s", clock=world.clock, log=world.log, rebuild=True)
    assert (counts["opened"], counts["updated"], counts["resolved"]) == (0, 0, 0)


def test_conversions_on_postgresql_tick_and_rebuild_alike(world, tmp_path):
    world.mapping = load_mapping(write_mapping(tmp_path / "conv.toml", movement_types=CONVERSIONS))
    world.compare(settings=S)
    world.move(line_key="C1", qty="4", doc_ref="CV-1", movement_type="to_nb")
    world.declare(no="QD1", doc_ref="CV-1", qty="3", io="E")
    book(world, "QD1", "2")
    world.move(line_key="C2", qty="2", doc_ref=None, movement_type="to_b")
    world.compare(settings=S)
    with world.store.read() as conn:
        rows = conn.execute(select(discrepancies).where(discrepancies.c.kind == "conversion_unbooked")).all()
    found = sorted((r.unit_key, r.details["reason"]) for r in rows)
    assert found == [("convm|MT-1", "no_list"), ("conv|CV-1", "short")]
    counts = compare(world.store, S, routes={}, site="s", clock=world.clock, log=world.log, rebuild=True)
    assert (counts["opened"], counts["updated"], counts["resolved"]) == (0, 0, 0)
