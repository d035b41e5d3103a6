"""C3, C4, C6 and C8 (passport voided) through the engine: ticks find them, later data resolves them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from connector.compare.engine import compare
from connector.compare.history import picture
from connector.compare.rules import discrepancy_id
from connector.config.schema import CompareSection
from connector.store.tables import discrepancies, passport_lines, receipts
from tests.compare.gate_world import GateWorld
from tests.compare.test_engine import LONG_AGO
from tests.support.wms import log  # noqa: F401


@pytest.fixture
def world(tmp_path, log):  # noqa: F811
    w = GateWorld(tmp_path, log)
    yield w
    w.store.close()

def live(world) -> dict[str, tuple]:
    with world.store.read() as conn:
        return {r.id: (r.kind, r.doc_refs, r.unit_key) for r in conn.execute(
            select(discrepancies).where(discrepancies.c.status.in_(("open", "acknowledged"))))}

def rebuild_changes_nothing(world) -> bool:
    counts = compare(world.store, CompareSection(), routes={}, site="s", clock=world.clock, log=world.log,
                     rebuild=True)
    return (counts["opened"], counts["updated"], counts["resolved"]) == (0, 0, 0)

def test_trucks_above_the_list_line_open_over_allocation_for_that_list(world):
    world.declare(no="QD1", qty="10")
    world.move(qty="10")
    world.passport(no="HF1", qty="6")
    world.compare()
    assert live(world) == {}
    world.passport(no="HF2", qty="6")
    world.compare()
    did = discrepancy_id("passport_over_allocation", "QD1", 1)
    assert live(world) == {did: ("passport_over_allocation", ["QD1"], "list|QD1")}
    assert world.discrepancy(did).details["passportUsedQty"] == "12"
    assert rebuild_changes_nothing(world)

def test_one_truck_for_two_lists_is_allocated_across_both(world):
    world.declare(no="QD1", doc_ref="ASN-1", qty="10")
    world.declare(no="QD2", doc_ref="ASN-2", qty="10")
    world.passport(no="HF1", lists=("QD1", "QD2"), qty="15")
    world.compare()
    assert {v[0] for v in live(world).values()} == {"list_without_movement"}
    world.passport(no="HF2", lists=("QD2",), qty="10")
    world.compare()
    over = {k: v for k, v in live(world).items() if v[0] == "passport_over_allocation"}
    assert over == {discrepancy_id("passport_over_allocation", "QD2", 1): ("passport_over_allocation", ["QD2"], "list|QD2")}
    world.passport(no="HF1", lists=("QD1",), qty="10")  # the truck now names one list only
    world.compare()
    assert not [v for v in live(world).values() if v[0] == "passport_over_allocation"]
    assert rebuild_changes_nothing(world)

def test_closed_list_with_a_truck_not_passed_gives_shortfall_until_it_passes(world):
    world.declare(no="QD1", qty="10")
    world.move(qty="10")
    world.passport(no="HF1", qty="10", passed=False)
    world.close_list("QD1")
    world.compare()
    did = discrepancy_id("passport_shortfall", "QD1", 1)
    assert live(world)[did][0] == "passport_shortfall"
    world.passport(no="HF1", qty="10", passed=True)
    world.compare()
    assert world.discrepancy(did).status == "resolved"
    assert rebuild_changes_nothing(world)

def test_weighbridge_far_from_total_weight_gives_weight_over_tolerance_and_zero_is_not_weighed(world):
    world.passport(no="HF1", lists=(), qty=None, total_wt="10000", collect_wt="0")
    world.compare()
    assert live(world) == {}
    world.passport(no="HF1", lists=(), qty=None, total_wt="10000", collect_wt="10400")
    world.compare()
    did = discrepancy_id("weight_over_tolerance", "HF1", "weighbridge")
    assert live(world) == {did: ("weight_over_tolerance", ["HF1"], "gate|HF1")}
    assert world.discrepancy(did).details["wtError"] == "400"
    assert rebuild_changes_nothing(world)

def test_uncollected_stock_bill_is_in_flight_then_overdue_then_resolved_by_the_collective_list(world):
    world.stock_bill(no="X1", collected="1", at=LONG_AGO)  # 2025-02-28: due by the end of March
    assert world.compare()["in_flight"] == 1
    world.clock.advance(days=30)
    world.compare()
    did = discrepancy_id("collective_overdue", "X1")
    assert live(world) == {did: ("collective_overdue", ["X1"], "bill|X1")}
    world.collect(list_no="QD9", stock_no="X1")
    world.compare()
    assert world.discrepancy(did).status == "resolved"
    assert rebuild_changes_nothing(world)

def test_lower_ranked_receipt_bringing_lines_of_a_numbered_passport_is_seen_by_the_next_tick(world):
    world.declare(no="QD1", qty="10")
    world.move(qty="10")
    world.passport(no="HF1", lists=("QD1",), qty=None)  # the head (and its link) first, without truck lines
    world.compare()
    assert live(world) == {}
    with world.store.begin() as conn:  # a lower-ranked receipt: the store keeps its lines, not its head
        conn.execute(receipts.insert().values(source="inbox", file_name="HF1-221.xml", sha256="f" * 64,
                                              message_type="SAS221", business_id="HF1", received_at=LONG_AGO))
        conn.execute(passport_lines.insert().values(passport_no="HF1", passport_seqno=1, rlt_gds_seqno=1,
                                                    dcl_qty=Decimal(12)))
    world.compare()
    did = discrepancy_id("passport_over_allocation", "QD1", 1)
    assert live(world) == {did: ("passport_over_allocation", ["QD1"], "list|QD1")}
    assert rebuild_changes_nothing(world)


def test_as_of_before_the_collective_list_arrived_shows_the_bill_overdue(world):
    world.stock_bill(no="X1", collected="1", at=LONG_AGO)  # due by the end of March
    world.collect(list_no="QD9", stock_no="X1", at=LONG_AGO + timedelta(days=60))  # the 集报 link, late
    did = discrepancy_id("collective_overdue", "X1")
    before = picture(world.store, CompareSection(), LONG_AGO + timedelta(days=45))
    after = picture(world.store, CompareSection(), LONG_AGO + timedelta(days=61))
    assert [d["id"] for d in before["discrepancies"]] == [did]
    assert after["discrepancies"] == []

def test_goods_moved_on_a_list_whose_only_passport_was_voided_give_state_mismatch(world):
    world.declare(no="QD1", qty="10")
    world.passport(no="HF1", qty="10", stucd="6", passed=False)
    world.compare()
    assert {v[0] for v in live(world).values()} == {"list_without_movement"}
    world.move(qty="10")
    world.compare()
    did = discrepancy_id("state_mismatch", "QD1", "passport_void")
    assert live(world) == {did: ("state_mismatch", ["ASN-1", "QD1", "HF1"], "list|QD1")}
    world.passport(no="HF2", qty="10")
    world.compare()
    assert world.discrepancy(did).status == "resolved"
    assert rebuild_changes_nothing(world)
