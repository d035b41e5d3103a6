"""The engine running C4 (WMS gross weight), C5 (dispatch ↔ passport, and C8 voided but the truck left)
and C7 (bonded status) on a real store, in ticks and in a rebuild."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from connector.compare import load_wms
from connector.compare.engine import compare
from connector.compare.history import picture
from connector.config.schema import CompareSection
from connector.store.tables import discrepancies
from tests.compare.test_engine import LONG_AGO, NOW
from tests.compare.wms_world import WmsWorld
from tests.support.wms import log  # noqa: F401

S = CompareSection(non_bonded_locations=["NB-*"])
TRUCK_AT = LONG_AGO + timedelta(hours=1)


@pytest.fixture
def world(tmp_path, log):  # noqa: F811
    w = WmsWorld(tmp_path, log)
    yield w
    w.store.close()


def found(world, status="open") -> dict[str, list]:
    with world.store.read() as conn:
        rows = conn.execute(select(discrepancies).where(discrepancies.c.status == status)).all()
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(r.kind, []).append(r)
    return out


def rebuild_changes_nothing(world, settings=S) -> bool:
    counts = compare(world.store, settings, routes={}, site="s", clock=world.clock, log=world.log, rebuild=True)
    return (counts["opened"], counts["updated"], counts["resolved"]) == (0, 0, 0)


def test_wms_gross_weight_off_the_passport_gross_and_weighbridge_gives_weight_over_tolerance(world):
    world.ship(vehicle="浙B12345", gross="100")
    world.truck(vehicle="浙B12345", at=TRUCK_AT, gross="130", tare="1000", collect="1300")
    world.compare(settings=S)
    compared = {r.details["compared"]: r for r in found(world)["weight_over_tolerance"]}
    assert set(compared) == {"wms", "wms_weighbridge"}
    assert (compared["wms"].expected_qty, compared["wms"].actual_qty) == (Decimal(130), Decimal(100))
    assert (compared["wms_weighbridge"].expected_qty, compared["wms_weighbridge"].actual_qty) == (Decimal(1300),
                                                                                                   Decimal(1100))
    assert rebuild_changes_nothing(world)


def test_wms_gross_within_tolerance_and_no_gross_given_stay_quiet(world):
    world.ship(line_key="S1", vehicle="V1", gross="101")
    world.truck(no="HF1", vehicle="V1", at=TRUCK_AT, gross="100", tare="1000", collect="1100")
    world.ship(line_key="S2", vehicle="V2", gross=None)
    world.truck(no="HF2", vehicle="V2", at=TRUCK_AT, gross="100")
    world.compare(settings=S)
    assert found(world).keys() <= {"missing_list"}


def test_dispatch_with_no_passport_of_its_vehicle_is_dispatch_without_passport(world):
    world.ship(vehicle="V1", doc_ref="DO-9")
    world.truck(vehicle="V1", at=LONG_AGO + timedelta(days=2))  # outside the 12 h window
    world.compare(settings=S)
    open_ = found(world)
    [d] = open_["dispatch_without_passport"]
    assert (d.unit_key, d.details["vehicleNo"], list(d.doc_refs)) == ("vehicle|V1", "V1", ["DO-9"])
    assert d.evidence and d.evidence[0].startswith("dispatch:V1@")
    [p] = open_["passport_without_loading"]
    assert list(p.doc_refs) == ["HF7"]


def test_passport_arriving_later_in_a_tick_covers_the_dispatch(world):
    world.ship(vehicle="V1")
    world.compare(settings=S)
    assert "dispatch_without_passport" in found(world)
    world.truck(vehicle="V1", at=TRUCK_AT)
    world.compare(settings=S)
    assert "dispatch_without_passport" in found(world, "resolved") and "dispatch_without_passport" not in found(world)
    assert rebuild_changes_nothing(world)


def test_dispatch_matched_only_by_a_voided_passport_is_state_mismatch(world):
    world.ship(vehicle="V1")
    world.truck(vehicle="V1", stucd="6", at=TRUCK_AT)
    world.compare(settings=S)
    [d] = found(world)["state_mismatch"]
    assert d.details["voided_passports"] == ["HF7"] and "HF7" in d.doc_refs


def test_passport_moving_to_another_vehicle_dirties_the_old_one_in_a_tick(world):
    world.ship(line_key="S1", vehicle="V1")
    world.ship(line_key="S2", vehicle="V2")
    world.truck(no="HF1", vehicle="V1", at=TRUCK_AT)
    world.truck(no="HF2", vehicle="V2", at=TRUCK_AT)
    world.compare(settings=S)
    assert "dispatch_without_passport" not in found(world)
    world.truck(no="HF1", vehicle="V2", at=TRUCK_AT)
    world.compare(settings=S)
    [d] = found(world)["dispatch_without_passport"]
    assert d.unit_key == "vehicle|V1"
    assert rebuild_changes_nothing(world)


def test_inbound_passport_and_vehicle_never_loaded_give_no_passport_without_loading(world):
    world.ship(vehicle="V1")
    world.truck(no="HF1", vehicle="V1", at=TRUCK_AT)
    world.truck(no="HF2", vehicle="V1", io="I", at=LONG_AGO + timedelta(days=3))
    world.truck(no="HF3", vehicle="V9", at=TRUCK_AT)  # the WMS never loaded V9
    world.compare(settings=S)
    assert "passport_without_loading" not in found(world)
    every = S.model_copy(update={"dispatch_all_vehicles": True})
    assert not rebuild_changes_nothing(world, every)
    [p] = found(world)["passport_without_loading"]
    assert list(p.doc_refs) == ["HF3"]


def test_revised_dispatch_with_another_vehicle_moves_the_finding(world):
    world.ship(vehicle="V1")
    world.compare(settings=S)
    world.ship(vehicle="V2")  # a new revision of the same WMS line
    world.compare(settings=S)
    [d] = found(world)["dispatch_without_passport"]
    assert d.details["vehicleNo"] == "V2" and found(world, "resolved")["dispatch_without_passport"]
    assert rebuild_changes_nothing(world)


def test_stock_in_a_non_bonded_location_on_a_bonded_line_is_bonded_status_mismatch(world):
    world.ship(line_key="R1", vehicle=None, location="NB-01", movement_type="receipt")
    world.ship(line_key="R2", vehicle=None, location="A-01", movement_type="receipt")
    world.compare(settings=S)
    [d] = found(world)["bonded_status_mismatch"]
    assert (d.unit_key, d.details["location"], d.actual_qty) == ("place|T2345W000001|1", "NB-01", Decimal(5))
    world.ship(line_key="R3", vehicle=None, location="NB-01", movement_type="issue")  # moved out again
    world.compare(settings=S)
    assert "bonded_status_mismatch" in found(world, "resolved")
    assert rebuild_changes_nothing(world)


def test_bonded_location_stock_on_a_non_bonded_ledger_is_the_reverse_mismatch(world):
    settings = CompareSection(non_bonded_ledgers=["T2345W*"])
    world.ship(line_key="R1", vehicle=None, location="A-01", movement_type="receipt")
    world.compare(settings=settings)
    [d] = found(world)["bonded_status_mismatch"]
    assert (d.details["location_status"], d.details["ledger"]) == ("bonded", "non-bonded")


def test_without_non_bonded_settings_or_vehicle_data_the_new_rules_stay_quiet(world):
    world.ship(line_key="R1", vehicle=None, location="NB-01", movement_type="receipt")
    world.truck(vehicle="V1", at=TRUCK_AT)
    world.compare(settings=CompareSection())
    assert found(world).keys() <= {"missing_list"}


def test_as_of_before_the_passport_was_known_shows_the_dispatch_without_passport(world):
    world.ship(vehicle="V1")  # entries created at NOW
    world.truck(vehicle="V1", at=TRUCK_AT, updated=NOW + timedelta(hours=1))  # the store learnt it later
    world.clock.advance(hours=2)
    world.compare(settings=S)
    kinds = {d["kind"] for d in picture(world.store, S, NOW)["discrepancies"]}
    assert "dispatch_without_passport" in kinds and "dispatch_without_passport" not in found(world)


def test_as_of_reads_dispatches_from_the_movements_even_before_any_comparison_ran(world):
    world.ship(vehicle="V1", at=LONG_AGO)  # no tick since: compare_dispatches is still empty
    world.ship(line_key="S1", vehicle="V2", at=LONG_AGO)  # re-sent later on another vehicle
    first = picture(world.store, S, NOW - timedelta(seconds=1))  # before either revision was posted
    world.clock.advance(hours=1)
    world.ship(line_key="S1", vehicle="V3", at=LONG_AGO)
    shown = {d["details"]["vehicleNo"] for d in picture(world.store, S, NOW)["discrepancies"]
             if d["kind"] == "dispatch_without_passport"}
    assert shown == {"V2"} and first["discrepancies"] == []


def test_show_explains_dispatch_kinds_with_the_vehicle_and_chinese_terms(world):
    from zoneinfo import ZoneInfo

    from connector.compare.explain import explain

    world.ship(vehicle="V1")
    world.ship(line_key="S2", vehicle="V2")
    world.truck(no="HF1", vehicle="V2", stucd="6", at=TRUCK_AT)
    world.truck(no="HF2", vehicle="V1", at=LONG_AGO + timedelta(days=2))
    world.compare(settings=S)
    open_ = found(world)
    with world.store.read() as conn:
        text = {k: explain(conn, open_[k][0], ZoneInfo("Asia/Shanghai"))
                for k in ("dispatch_without_passport", "passport_without_loading", "state_mismatch")}
    assert "无单出区" in text["dispatch_without_passport"] and "WMS 装车出库 dispatch (车牌@time) V1@" in text[
        "dispatch_without_passport"]
    assert "有单无装车" in text["passport_without_loading"] and "卡口" in text["passport_without_loading"]
    assert "作废/删除 (voided/deleted): HF1" in text["state_mismatch"]


def test_dispatch_query_reads_the_dispatches_first_and_their_entries_by_line(world):
    with world.store.read() as conn:
        sql = str(load_wms.dispatch_query().compile(conn, compile_kwargs={"literal_binds": True}))
        plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    assert plan[0].startswith("SCAN compare_dispatches")  # not every ledger entry
    assert plan[1].startswith("SEARCH ledger_entries USING INDEX ix_ledger_entries_line")
