"""C7 分类监管 conversions (rules/conversion.py): a 保税转非保 / 非保转保税 must be booked in the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from connector.compare.rules.conversion import BookedLine, Conversion, conversions_booked
from connector.compare.settings import CompareSection, Tolerance

NOW = datetime(2025, 3, 10, 4, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=10)
S = CompareSection()
D = Decimal


def conversion(qty="-10", kind="to_non_bonded", doc="CV-1", at=OLD) -> Conversion:
    key = doc or "~wms:L1"
    return Conversion(key, doc, kind, "T2345W000001", 1, "MT-1", "007", D(qty), at, ("wms:L1",),
                      ("movement:wms:L1#1",))


def line(qty="10", io="E", booked=True, void=False, no="QD1") -> BookedLine:
    return BookedLine(no, 1, io, D(qty), booked, void, (f"list:{no}/1", "receipt:7"))


def run(c: Conversion, *lines: BookedLine, now=NOW, settings=S):
    return conversions_booked([c], {("CV-1", "MT-1"): list(lines)}, now, settings)


def test_conversion_covered_by_a_booked_list_in_its_direction_is_matched():
    result = run(conversion(), line())
    assert (result.found, result.in_flight) == ([], set())


def test_conversion_covered_by_two_booked_lists_together_is_matched():
    assert run(conversion("-10"), line("4"), line("6", no="QD2")).found == []


def test_conversion_without_any_list_gives_conversion_unbooked_no_list():
    [d] = run(conversion()).found
    assert (d.kind, d.details["reason"], d.details["conversion"]) == ("conversion_unbooked", "no_list",
                                                                      "to_non_bonded")
    assert (d.expected_qty, d.actual_qty, d.delta_qty) == (D(0), D(-10), D(-10))
    assert (d.details["wms_qty"], d.details["booked_qty"], d.doc_refs) == ("10", "0", ("CV-1",))
    assert d.details["evidence"] == ["movement:wms:L1#1"]


def test_conversion_with_a_list_not_yet_booked_gives_not_booked():
    [d] = run(conversion(), line(booked=False)).found
    assert (d.details["reason"], d.doc_refs) == ("not_booked", ("CV-1", "QD1"))
    assert d.details["evidence"] == ["movement:wms:L1#1", "list:QD1/1", "receipt:7"]


def test_conversion_to_non_bonded_against_an_import_list_gives_wrong_direction():
    [d] = run(conversion(), line(io="I")).found
    assert d.details["reason"] == "wrong_direction"


def test_conversion_to_bonded_needs_an_import_list():
    assert run(conversion("10", "to_bonded"), line(io="I")).found == []
    [d] = run(conversion("10", "to_bonded"), line(io="E")).found
    assert (d.details["reason"], d.details["conversion"], d.actual_qty) == ("wrong_direction", "to_bonded", D(10))


def test_conversion_booked_for_less_than_moved_gives_short():
    [d] = run(conversion("-10"), line("7"), line("5", booked=False, no="QD2")).found
    assert (d.details["reason"], d.details["booked_qty"], d.expected_qty, d.delta_qty) == ("short", "7", D(-7), D(-3))


def test_conversion_short_within_the_item_tolerance_is_matched():
    tolerant = CompareSection(tolerances={"T2345W000001:1": Tolerance(absolute=D(3))})
    assert run(conversion("-10"), line("7"), settings=tolerant).found == []


def test_void_list_does_not_book_a_conversion():
    [d] = run(conversion(), line(void=True)).found
    assert d.details["reason"] == "no_list"


def test_conversion_inside_the_movement_grace_window_is_held():
    recent = NOW - timedelta(hours=2)
    result = run(conversion(at=recent))
    [did] = result.in_flight
    assert result.found == [] and result.due[did] == recent + timedelta(hours=72)


def test_conversion_without_a_document_reference_is_keyed_by_its_line():
    c = conversion(doc=None)
    [d] = conversions_booked([c], {}, NOW, S).found
    assert (d.details["reason"], d.doc_refs) == ("no_list", ())
    assert d.id != run(conversion()).found[0].id


def test_fully_reversed_conversion_gives_nothing():
    assert run(conversion("0")).found == []
