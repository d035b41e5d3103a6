"""Comparator rules: pure functions; grace windows hold differences back as in flight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connector.compare.rules import (
    LedgerState,
    ListItem,
    WmsBalance,
    WmsDocItem,
    balance,
    discrepancy_id,
    formal_balance,
    movement_vs_list,
)
from connector.config.schema import CompareSection

NOW = datetime(2025, 3, 10, 4, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=10)
RECENT = NOW - timedelta(hours=1)
SETTINGS = CompareSection()  # grace: movement 72 h, list 72 h, balance 48 h; tolerance 0


def wms_item(doc_ref="ASN-1", qty="10", at=LONG_AGO, mtno="MT-1", keys=("wms:L1",)) -> WmsDocItem:
    return WmsDocItem(doc_ref, "T2345W000001", 1, mtno, "007", Decimal(qty), at, tuple(keys))


def listed(doc_ref="ASN-1", qty="10", io="I", at=LONG_AGO, no="QD1", mtno="MT-1") -> ListItem:
    return ListItem(no, doc_ref, io, "T2345W000001", 1, mtno, "007", Decimal(qty), at)


def ledger_line(in_qty="0", inc="100", redc="20", prevd_inc="0", prevd_redc="0", at=LONG_AGO) -> LedgerState:
    return LedgerState("T2345W000001", 1, "MT-1", "007", Decimal(in_qty), Decimal(inc), Decimal(redc),
                       Decimal(prevd_inc), Decimal(prevd_redc), at)


def stock(qty, at=LONG_AGO) -> dict:
    return {("T2345W000001", 1): WmsBalance("T2345W000001", 1, "MT-1", "007", Decimal(qty), at)}


def ledger(**fields) -> dict:
    return {("T2345W000001", 1): ledger_line(**fields)}


def test_movement_with_matching_list_gives_nothing():
    result = movement_vs_list([wms_item()], [listed()], NOW, SETTINGS)
    assert (result.found, result.in_flight) == ([], set())


def test_outbound_movement_matches_export_list_with_positive_quantity():
    result = movement_vs_list([wms_item(qty="-4")], [listed(qty="4", io="E")], NOW, SETTINGS)
    assert result.found == []


def test_movement_without_list_past_grace_gives_missing_list():
    [d] = movement_vs_list([wms_item()], [], NOW, SETTINGS).found
    assert d.kind == "missing_list"
    assert d.id == discrepancy_id("missing_list", "ASN-1", "MT-1")
    assert (d.ledger_no, d.item_seq, d.item_no, d.doc_refs) == ("T2345W000001", 1, "MT-1", ("ASN-1",))
    assert (d.expected_qty, d.actual_qty, d.delta_qty, d.unit) == (Decimal(0), Decimal(10), Decimal(10), "007")
    assert d.details["wms_lines"] == ["wms:L1"]


def test_movement_without_list_inside_grace_is_in_flight_not_reported():
    result = movement_vs_list([wms_item(at=RECENT)], [], NOW, SETTINGS)
    assert result.found == []
    assert result.in_flight == {discrepancy_id("missing_list", "ASN-1", "MT-1")}


def test_movement_exactly_at_grace_end_is_reported():
    at = NOW - timedelta(hours=72)
    assert [d.kind for d in movement_vs_list([wms_item(at=at)], [], NOW, SETTINGS).found] == ["missing_list"]


def test_movement_without_doc_ref_gives_missing_list_keyed_by_its_lines():
    [d] = movement_vs_list([wms_item(doc_ref=None, keys=("wms:L7",))], [], NOW, SETTINGS).found
    assert d.kind == "missing_list"
    assert d.doc_refs == ()
    assert d.id == discrepancy_id("missing_list", "no-doc", "wms:L7")


def test_fully_reversed_movement_without_list_gives_nothing():
    result = movement_vs_list([wms_item(qty="0")], [], NOW, SETTINGS)
    assert (result.found, result.in_flight) == ([], set())


def test_list_without_movement_past_grace_gives_list_without_movement():
    [d] = movement_vs_list([], [listed(io="E", qty="5")], NOW, SETTINGS).found
    assert d.kind == "list_without_movement"
    assert d.id == discrepancy_id("list_without_movement", "ASN-1", "MT-1")
    assert (d.expected_qty, d.actual_qty, d.delta_qty) == (Decimal(-5), Decimal(0), Decimal(5))
    assert d.doc_refs == ("ASN-1", "QD1")
    assert d.details["impexpMarkcd"] == "E"


def test_list_without_movement_inside_list_grace_is_in_flight():
    result = movement_vs_list([], [listed(at=RECENT)], NOW, SETTINGS)
    assert result.found == []
    assert result.in_flight == {discrepancy_id("list_without_movement", "ASN-1", "MT-1")}


def test_different_quantities_past_grace_give_quantity_mismatch():
    [d] = movement_vs_list([wms_item(qty="10")], [listed(qty="8")], NOW, SETTINGS).found
    assert d.kind == "quantity_mismatch"
    assert d.id == discrepancy_id("quantity_mismatch", "ASN-1", "MT-1")
    assert (d.expected_qty, d.actual_qty, d.delta_qty) == (Decimal(8), Decimal(10), Decimal(2))
    assert d.doc_refs == ("ASN-1", "QD1")


def test_quantity_difference_within_tolerance_gives_nothing():
    settings = CompareSection(qty_tolerance=Decimal("0.01"))
    assert movement_vs_list([wms_item(qty="10.005")], [listed(qty="10")], NOW, settings).found == []


def test_quantity_mismatch_with_recent_movement_is_in_flight():
    result = movement_vs_list([wms_item(qty="10", at=RECENT)], [listed(qty="8")], NOW, SETTINGS)
    assert result.found == []
    assert result.in_flight == {discrepancy_id("quantity_mismatch", "ASN-1", "MT-1")}


def test_several_list_lines_of_one_document_are_summed():
    lists = [listed(qty="6", no="QD1"), listed(qty="4", no="QD2")]
    assert movement_vs_list([wms_item(qty="10")], lists, NOW, SETTINGS).found == []
    [d] = movement_vs_list([wms_item(qty="11")], lists, NOW, SETTINGS).found
    assert d.doc_refs == ("ASN-1", "QD1", "QD2")


def test_grace_windows_are_configuration():
    settings = CompareSection(movement_grace_hours=Decimal("0.5"))
    assert [d.kind for d in movement_vs_list([wms_item(at=RECENT)], [], NOW, settings).found] == ["missing_list"]


def test_balance_equal_to_formal_balance_gives_nothing():
    result = balance(stock("80"), ledger(inc="100", redc="20"), NOW, SETTINGS)
    assert (result.found, result.in_flight) == ([], set())


def test_balance_equal_to_formal_minus_provisional_decrease_plus_increase_gives_nothing():
    lines = ledger(inc="100", redc="20", prevd_redc="30", prevd_inc="5")
    assert balance(stock("55"), lines, NOW, SETTINGS).found == []


def test_balance_mismatch_reports_customs_quantities_and_rate():
    [d] = balance(stock("78"), ledger(inc="100", redc="20"), NOW, SETTINGS).found
    assert d.kind == "balance_mismatch"
    assert d.id == discrepancy_id("balance_mismatch", "T2345W000001", 1)
    assert (d.expected_qty, d.actual_qty, d.delta_qty) == (Decimal(80), Decimal(78), Decimal(-2))
    assert d.details["shdRemainQty"] == "80"
    assert d.details["actlRemainQty"] == "78"
    assert d.details["dsmlQty"] == "-2"
    assert d.details["dsmlRate"] == "-0.02500"
    assert d.doc_refs == ()


def test_balance_with_in_qty_counts_it_under_default_formula():
    assert balance(stock("90"), ledger(in_qty="10", inc="100", redc="20"), NOW, SETTINGS).found == []


def test_balance_with_actual_only_formula_ignores_in_qty():
    settings = CompareSection(balance_formula="actual_only")
    assert formal_balance(ledger_line(in_qty="10"), "actual_only") == Decimal(80)
    assert balance(stock("80"), ledger(in_qty="10", inc="100", redc="20"), NOW, settings).found == []


def test_balance_of_zero_formal_gives_no_rate():
    [d] = balance(stock("3"), ledger(inc="0", redc="0"), NOW, SETTINGS).found
    assert d.details["dsmlRate"] is None


def test_balance_without_wms_stock_counts_it_as_zero():
    [d] = balance({}, ledger(inc="100", redc="20"), NOW, SETTINGS).found
    assert (d.actual_qty, d.delta_qty) == (Decimal(0), Decimal(-80))


def test_balance_mismatch_inside_grace_is_in_flight():
    result = balance(stock("78", at=RECENT), ledger(), NOW, SETTINGS)
    assert result.found == []
    assert result.in_flight == {discrepancy_id("balance_mismatch", "T2345W000001", 1)}


def test_same_inputs_give_same_ids():
    one = movement_vs_list([wms_item(), wms_item(doc_ref="ASN-2")], [listed(doc_ref="ASN-3")], NOW, SETTINGS)
    two = movement_vs_list([wms_item(), wms_item(doc_ref="ASN-2")], [listed(doc_ref="ASN-3")], NOW, SETTINGS)
    assert [d.id for d in one.found] == [d.id for d in two.found]
    assert len({d.id for d in one.found}) == 3


def test_id_does_not_depend_on_quantities_so_a_change_is_a_new_version():
    first = movement_vs_list([wms_item(qty="10")], [listed(qty="8")], NOW, SETTINGS).found[0]
    later = movement_vs_list([wms_item(qty="11")], [listed(qty="8")], NOW + timedelta(days=1), SETTINGS).found[0]
    assert first.id == later.id
    assert first.delta_qty != later.delta_qty


@pytest.mark.parametrize(("kind", "key"), [("missing_list", ("A", "M")), ("balance_mismatch", ("T1", 1))])
def test_discrepancy_id_is_stable_32_hex(kind, key):
    value = discrepancy_id(kind, *key)
    assert value == discrepancy_id(kind, *key)
    assert len(value) == 32 and int(value, 16) >= 0
    assert value != discrepancy_id("quantity_mismatch", *key)


def test_balance_mismatch_with_fresh_snapshot_of_unchanged_ledger_is_reported():
    """A daily ledger query gives a recent as_of; that alone must not hold an old difference in flight."""
    result = balance(stock("78", at=LONG_AGO), ledger(at=NOW - timedelta(hours=2)), NOW, SETTINGS)
    assert [d.kind for d in result.found] == ["balance_mismatch"]
