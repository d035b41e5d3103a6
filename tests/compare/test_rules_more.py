"""The rules beyond C1/C2 basics: item, unit and direction mismatches, C8, unreferenced movements by
time window, N:M allocation and rounding, C3 一票多车/一车多票, C4 weights, C5, C6, C7, C9."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from connector.compare.rules import (
    ListItem,
    WmsDocItem,
    WmsLine,
    movement_vs_list,
    unreferenced,
)
from connector.compare.rules.allocation import allocate, convert, to_units
from connector.compare.rules.dispatch import Dispatch, dispatch_vs_passports
from connector.compare.rules.gate import (
    ListLine,
    Passport,
    PassportLine,
    list_vs_passports,
    weight_check,
)
from connector.compare.rules.periods import (
    LocatedStock,
    StockBill,
    bonded_status,
    collective_deadline,
    collective_overdue,
)
from connector.compare.rules.writeoff import PeriodFigures, period_of, writeoff
from connector.compare.settings import CompareSection, Tolerance

NOW = datetime(2025, 3, 10, 4, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=10)
S = CompareSection()
D = Decimal


def wms(mtno="MT-1", qty="10", unit="007", doc="ASN-1") -> WmsDocItem:
    return WmsDocItem(doc, "T2345W000001", 1, mtno, unit, D(qty), OLD, ("wms:L1",), ("movement:wms:L1#1",))


def listed(mtno="MT-1", qty="10", io="I", unit="007", void=False, no="QD1") -> ListItem:
    return ListItem(no, "ASN-1", io, "T2345W000001", 1, mtno, unit, D(qty), OLD, ("list:QD1/1",), void)


def kinds(result) -> list[str]:
    return [d.kind for d in result.found]


def test_lone_items_on_both_sides_of_a_document_give_item_mismatch():
    [d] = movement_vs_list([wms("MT-1")], [listed("MT-9")], NOW, S).found
    assert (d.kind, d.details["wms_gdsMtno"], d.details["list_gdsMtno"]) == ("item_mismatch", "MT-1", "MT-9")


def test_movement_in_against_export_list_gives_direction_mismatch():
    assert kinds(movement_vs_list([wms(qty="10")], [listed(io="E")], NOW, S)) == ["direction_mismatch"]


def test_list_unit_other_than_mapped_unit_gives_unit_mismatch():
    [d] = movement_vs_list([wms()], [listed(unit="035")], NOW, S).found
    assert (d.kind, d.details["list_unit"], d.details["mapped_unit"]) == ("unit_mismatch", "035", "007")


def test_goods_moved_on_a_rejected_list_give_state_mismatch():
    [d] = movement_vs_list([wms()], [listed(void=True)], NOW, S).found
    assert (d.kind, d.details["lists"]) == ("state_mismatch", ["QD1"])


def test_relative_and_per_item_tolerances_absorb_small_differences():
    rel = CompareSection(qty_tolerance_rate=D("0.1"))
    item = CompareSection(tolerances={"T2345W000001:1": Tolerance(absolute=D(1))})
    assert movement_vs_list([wms(qty="10.5")], [listed()], NOW, rel).found == []
    assert movement_vs_list([wms(qty="11")], [listed()], NOW, item).found == []
    assert kinds(movement_vs_list([wms(qty="12")], [listed()], NOW, item)) == ["quantity_mismatch"]


def test_findings_carry_their_evidence_rows():
    [d] = movement_vs_list([wms(qty="9")], [listed()], NOW, S).found
    assert d.details["evidence"] == ["movement:wms:L1#1", "list:QD1/1"]


def noref(key, qty, at=OLD) -> WmsLine:
    return WmsLine(key, "MT-1", "T2345W000001", 1, "007", D(qty), at, (f"movement:{key}#1",))


def test_unreferenced_movements_covered_by_orphan_list_in_window_give_nothing():
    lines = [noref("wms:A", "6"), noref("wms:B", "4", OLD + timedelta(hours=5))]
    assert unreferenced(lines, [listed(qty="10")], NOW, S).found == []


def test_unreferenced_movement_beyond_list_quantity_reports_what_is_left():
    [d] = unreferenced([noref("wms:A", "6"), noref("wms:B", "7")], [listed(qty="10")], NOW, S).found
    assert (d.kind, d.delta_qty, d.expected_qty, d.details["allocated"]) == (
        "missing_list", D(3), D(4), [{"list": "QD1/MT-1", "qty": "4"}])


def test_unreferenced_movement_outside_window_or_direction_is_not_covered():
    far = noref("wms:A", "10", OLD - timedelta(hours=100))
    assert kinds(unreferenced([far], [listed(qty="10")], NOW, S)) == ["missing_list"]
    assert kinds(unreferenced([noref("wms:A", "10")], [listed(qty="10", io="E")], NOW, S)) == ["missing_list"]


def test_allocation_is_n_to_m_deterministic_and_reports_both_remainders():
    a = allocate([("m1", D(5)), ("m2", D(7))], [("l1", D(4)), ("l2", D(6))])
    assert a.pairs == [("m1", "l1", D(4)), ("m1", "l2", D(1)), ("m2", "l2", D(5))]
    assert (a.left, a.right) == ({"m1": D(0), "m2": D(2)}, {"l1": D(0), "l2": D(0)})


def test_conversion_rounds_to_customs_precision_with_configured_rule_and_keeps_residue():
    assert convert(D("1"), D("0.333333333"), S) == (D("0.33333"), D("0.000003333"))
    down = CompareSection(rounding="ROUND_DOWN", declared_precision=2)
    assert convert(D("2"), D("0.0049"), down) == (D("0.00"), D("0.0098"))
    assert to_units(D("12"), {"007": D(1), "035": D("0.25")}, S)["035"] == {"qty": "3.00000", "rounding_residue": "0.00000"}


def line(no="QD1", seq=1, qty="10", closed=False) -> ListLine:
    return ListLine(no, seq, "MT-1", D(qty), "007", OLD, closed, "T2345W000001", 1)


def truck(no, lists, qty, seq=1, passed=True) -> Passport:
    return Passport(no, tuple(lists), (PassportLine(no, 1, seq, "MT-1", D(qty)),), passed_at=OLD if passed else None)


def test_several_trucks_summing_to_the_list_line_give_nothing():
    assert list_vs_passports([line()], [truck("HF1", ["QD1"], "4"), truck("HF2", ["QD1"], "6")], NOW, S).found == []


def test_trucks_above_the_list_line_give_over_allocation():
    [d] = list_vs_passports([line()], [truck("HF1", ["QD1"], "7"), truck("HF2", ["QD1"], "6")], NOW, S).found
    assert (d.kind, d.actual_qty, d.details["passportUsedQty"]) == ("passport_over_allocation", D(13), "13")


def test_closed_list_with_a_truck_not_passed_gives_shortfall():
    trucks = [truck("HF1", ["QD1"], "4"), truck("HF2", ["QD1"], "6", passed=False)]
    [d] = list_vs_passports([line(closed=True)], trucks, NOW, S).found
    assert (d.kind, d.actual_qty) == ("passport_shortfall", D(4))


def test_one_truck_for_two_lists_is_allocated_across_them():
    both = Passport("HF1", ("QD1", "QD2"), (PassportLine("HF1", 1, 1, "MT-1", D(15)),), passed_at=OLD)
    assert list_vs_passports([line("QD1"), line("QD2", qty="5")], [both], NOW, S).found == []


def test_weighbridge_zero_is_not_weighed_and_large_gap_is_over_tolerance():
    unweighed = Passport("HF1", ("QD1",), total_wt=D(1000), pass_collect_wt=D(0))
    assert weight_check(unweighed, None, S).found == []
    heavy = Passport("HF1", ("QD1",), total_wt=D(1000), total_gross_wt=D(300), pass_collect_wt=D(1100))
    [d] = weight_check(heavy, D("301"), S).found
    assert (d.kind, d.details["compared"], d.delta_qty) == ("weight_over_tolerance", "weighbridge", D(100))


def test_dispatch_without_passport_and_passport_without_loading():
    p = Passport("HF1", ("QD1",), passed_at=OLD)
    result = dispatch_vs_passports([Dispatch("SO-1", "浙B12345", OLD + timedelta(days=2))], [p],
                                   {"HF1": "浙B12345"}, NOW, S)
    assert sorted(kinds(result)) == ["dispatch_without_passport", "passport_without_loading"]
    ok = dispatch_vs_passports([Dispatch("SO-1", "浙B12345", OLD + timedelta(hours=1))], [p],
                               {"HF1": "浙B12345"}, NOW, S)
    assert ok.found == []


def test_collective_deadline_is_end_of_next_month_never_across_year_end():
    at = lambda m, d: datetime(2025, m, d, 12, tzinfo=UTC)
    assert collective_deadline(at(3, 5), S).isoformat() == "2025-05-01T00:00:00+08:00"
    assert collective_deadline(at(12, 5), S).isoformat() == "2026-01-01T00:00:00+08:00"
    bills = [StockBill("X1", at(1, 5), False), StockBill("X2", at(3, 1), False), StockBill("X3", at(1, 5), True)]
    result = collective_overdue(bills, at(3, 10), S)
    assert kinds(result) == ["collective_overdue"] and len(result.in_flight) == 1


def test_non_bonded_location_on_bonded_ledger_line_gives_status_mismatch():
    s = CompareSection(non_bonded_locations=["NB-*"])
    stock = [LocatedStock("T2345W000001", 1, "MT-1", "NB-01", None, D(5), OLD),
             LocatedStock("T2345W000001", 1, "MT-1", "A-01", None, D(5), OLD)]
    [d] = bonded_status(stock, NOW, s).found
    assert (d.kind, d.details["location"]) == ("bonded_status_mismatch", "NB-01")


def test_writeoff_identity_closing_report_and_filing_warning():
    period = period_of(datetime(2024, 6, 1, tzinfo=UTC), S)
    assert [p.date().isoformat() for p in period] == ["2024-01-01", "2025-01-01"]
    ledger, stock = PeriodFigures(D(10), D(100), D(30), D(80)), PeriodFigures(D(10), D(100), D(32), D(79))
    result = writeoff("T2345W000001", 1, period, ledger, stock, datetime(2025, 2, 20, tzinfo=UTC), S)
    assert sorted(kinds(result)) == ["writeoff_due", "writeoff_imbalance"]
    due = next(d for d in result.found if d.kind == "writeoff_due")
    assert (due.details["shdRemainQty"], due.details["actlRemainQty"], due.details["dsmlQty"]) == ("80", "79", "-1")
    early = writeoff("T2345W000001", 1, period, ledger, ledger, datetime(2025, 1, 10, tzinfo=UTC), S)
    assert early.found == [] and len(early.in_flight) == 1


def _pairwise_matches(dispatches, passports, vehicles, window):
    """The matching spelled out over every pair (what match_dispatches must equal, however it searches)."""
    used = {}
    for d in sorted(dispatches, key=lambda x: (x.at, x.ref)):
        live = [p for p in passports if not p.void and p.passed_at is not None and p.passport_no not in used
                and vehicles.get(p.passport_no) == d.vehicle_no and abs(p.passed_at - d.at) <= window]
        if live:
            used[min(live, key=lambda p: (abs(p.passed_at - d.at), p.passport_no)).passport_no] = d.ref
    return used


def test_dispatch_matching_over_years_of_trips_equals_the_pairwise_matching():
    import random

    from connector.compare.rules.dispatch import match_dispatches

    rnd, t0 = random.Random(7), datetime(2023, 1, 1, tzinfo=UTC)
    dispatches = [Dispatch(f"V{i % 3}@{i}", f"V{i % 3}", t0 + timedelta(hours=5 * i + rnd.randint(0, 9)))
                  for i in range(600)]
    passports = [Passport(f"HF{i:04d}", (), void=i % 40 == 0, passed_at=None if i % 97 == 0 else
                          t0 + timedelta(hours=5 * i + rnd.randint(0, 14)), declared_at=t0 + timedelta(hours=5 * i))
                 for i in range(600) if i % 9]
    vehicles = {p.passport_no: f"V{int(p.passport_no[2:]) % 3}" for p in passports}
    result, used = match_dispatches(dispatches, passports, vehicles, t0 + timedelta(days=900), CompareSection())
    assert {no: d.ref for no, d in used.items()} == _pairwise_matches(dispatches, passports, vehicles,
                                                                     timedelta(hours=12))
    assert len(used) > 400 and {d.kind for d in result.found} >= {"dispatch_without_passport", "state_mismatch"}


def test_unreferenced_matching_within_the_window_slice_equals_scanning_every_orphan():
    import random

    from connector.compare.rules.inputs import ListItem, WmsLine
    from connector.compare.rules.unreferenced import candidates

    rnd, t0, window = random.Random(5), datetime(2023, 1, 1, tzinfo=UTC), timedelta(hours=48)  # the default
    lines = [WmsLine(f"wms:L{i}", "MT-1", "B", 1, "007", Decimal(rnd.choice([5, -5, 3, -2])),
                     t0 + timedelta(hours=6 * i + rnd.randint(0, 30))) for i in range(400)]
    orphans = sorted((ListItem(f"QD{i:04d}", f"D{i}", rnd.choice("IE"), "B", 1, "MT-1", "007",
                               Decimal(rnd.choice([5, 3, 2])), t0 + timedelta(hours=6 * i + rnd.randint(0, 30)))
                      for i in range(400) if i % 3), key=lambda o: (o.declared_at, o.bond_invt_no, o.gds_mtno))
    result = unreferenced(lines, orphans, t0 + timedelta(days=900), CompareSection())
    by_line, by_list = {x.line_key: x for x in lines}, {o.bond_invt_no: o for o in orphans}
    ordered = sorted((x for x in lines if x.qty), key=lambda x: (x.occurred_at, x.line_key))
    full = allocate([(x.line_key, abs(x.qty)) for x in ordered], [(o.bond_invt_no, o.dcl_qty) for o in orphans],
                    fits=lambda lk, rk: candidates(by_line[lk], by_list[rk], window))
    left = {lk: q for lk, q in full.left.items() if q > 0}
    assert {d.details["wms_lines"][0]: abs(d.delta_qty) for d in result.found} == left
    assert len(left) > 100 and len(full.pairs) > 100
