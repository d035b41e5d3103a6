"""map_movement: a movement becomes one ledger entry, or a MappingError with a stable reason."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connector.errors import MappingError
from connector.mapping import map_movement, needs_list
from connector.mapping_file import Mapping, MappingFile
from connector.model import LedgerItem, Movement
from tests.support.wms import item, mapping_data

AT = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)


def mapping(items=None, movement_types=None, version="test@000000000001", **top) -> Mapping:
    return Mapping(MappingFile.model_validate(mapping_data(items, movement_types, **top)), version)


def movement(**fields) -> Movement:
    values = dict(source="wms", line_key="L1", sku="SKU-1", qty=Decimal(10), uom="EA", movement_type="receipt",
                  doc_ref="ASN-1", occurred_at=AT, changed_at=AT)
    values.update(fields)
    return Movement(**values)


def reason_of(m: Movement, mp: Mapping | None = None) -> str:
    with pytest.raises(MappingError) as caught:
        map_movement(m, mp or mapping())
    return caught.value.reason


def test_map_receipt_gives_increase_entry_with_mapping_version():
    entry = map_movement(movement(qty=Decimal(2), uom="CS"), mapping())
    assert entry.item == LedgerItem("T2345W000001", 1, "MT-1", "8471300000", "007", "007")
    assert (entry.direction, entry.action) == ("I", "increase")
    assert entry.dcl_qty == entry.lawf_qty == Decimal(24)
    assert entry.doc_ref == "ASN-1"
    assert entry.occurred_at == AT
    assert entry.mapping_version == "test@000000000001"


def test_map_issue_gives_negative_decrease_entry():
    entry = map_movement(movement(movement_type="issue", qty=Decimal(3)), mapping())
    assert (entry.direction, entry.action, entry.dcl_qty) == ("E", "decrease", Decimal(-3))


def test_map_signed_adjustment_follows_the_quantity_sign():
    down = map_movement(movement(movement_type="adjust", qty=Decimal(-4)), mapping())
    up = map_movement(movement(movement_type="adjust", qty=Decimal(4)), mapping())
    assert (down.direction, down.action, down.dcl_qty) == ("E", "decrease", Decimal(-4))
    assert (up.direction, up.action, up.dcl_qty) == ("I", "increase", Decimal(4))


def test_map_unmapped_sku_raises_unmapped_sku():
    assert reason_of(movement(sku="SKU-404")) == "unmapped_sku"


@pytest.mark.parametrize("sku", [None, "", "   ", "\u3000"])
def test_map_missing_or_blank_sku_raises_sku_missing(sku):
    assert reason_of(movement(sku=sku)) == "sku_missing"


@pytest.mark.parametrize("sku", ["ＳＫＵ－１", "SKU-1   ", " SKU-1", "ＳＫＵ－１\u3000"])
def test_map_full_width_or_padded_sku_is_normalised_by_nfkc_strip(sku):
    assert map_movement(movement(sku=sku), mapping()).item.gds_seqno == 1


def test_map_mixed_case_sku_is_not_fuzzy_matched_under_nfkc_strip():
    assert reason_of(movement(sku="sku-1")) == "unmapped_sku"


def test_map_mixed_case_sku_matches_under_nfkc_strip_upper():
    assert map_movement(movement(sku="ｓｋｕ-1 "), mapping(sku_normalise="nfkc_strip_upper")).item.gds_seqno == 1


def test_map_unknown_movement_type_raises_unknown_movement_type():
    assert reason_of(movement(movement_type="teleport")) == "unknown_movement_type"


def test_map_movement_without_type_raises_movement_type_missing():
    assert reason_of(movement(movement_type=None)) == "movement_type_missing"


def test_map_negative_quantity_on_receipt_raises_negative_qty():
    assert reason_of(movement(qty=Decimal(-1))) == "negative_qty"


def test_map_positive_quantity_on_negative_only_type_raises_positive_qty():
    types = {"scrap": {"action": "signed", "qty_sign": "negative", "needs_list": False}}
    assert reason_of(movement(movement_type="scrap", qty=Decimal(1)), mapping(movement_types=types)) == "positive_qty"


def test_map_unit_without_factor_raises_unit_unconvertible():
    assert reason_of(movement(uom="千克")) == "unit_unconvertible"


def test_map_movement_without_unit_raises_uom_missing():
    assert reason_of(movement(uom=None)) == "uom_missing"


def test_map_quantity_with_more_decimals_than_precision_raises_precision_exceeded():
    assert reason_of(movement(qty=Decimal("1.000001"))) == "precision_exceeded"


def test_map_factor_that_adds_decimals_past_precision_raises_precision_exceeded():
    mp = mapping(items=[item(units={"G": Decimal("0.001")})], precision=3)
    assert reason_of(movement(qty=Decimal("1.5"), uom="G"), mp) == "precision_exceeded"


def test_map_quantity_at_precision_is_kept_without_rounding():
    entry = map_movement(movement(qty=Decimal("1.23456")), mapping())
    assert entry.dcl_qty == Decimal("1.23456")


def test_map_precision_zero_refuses_fractions():
    assert reason_of(movement(qty=Decimal("1.5")), mapping(precision=0)) == "precision_exceeded"


def test_map_point_one_factor_is_exact_decimal_arithmetic():
    mp = mapping(items=[item(units={"箱": Decimal("0.1")}, lawf_unitcd="035", lawf_factor=Decimal("0.1"))])
    entry = map_movement(movement(qty=Decimal(3), uom="箱"), mp)
    assert entry.dcl_qty == Decimal("0.3")
    assert str(entry.dcl_qty) == "0.3"
    assert entry.lawf_qty == Decimal("0.03")
    assert 3 * 0.1 != 0.3  # the float trap this avoids


def test_map_legal_quantity_past_precision_raises_precision_exceeded():
    mp = mapping(items=[item(lawf_unitcd="035", lawf_factor=Decimal("0.333333"))])
    assert reason_of(movement(qty=Decimal("1.5")), mp) == "precision_exceeded"


def test_map_huge_quantity_raises_mapping_error_not_decimal_error():
    assert reason_of(movement(qty=Decimal("1E+308"))) in ("precision_exceeded", "qty_out_of_range")


def test_map_transfer_with_action_none_gives_no_entry():
    assert map_movement(movement(movement_type="transfer"), mapping()) is None


def test_map_transfer_with_unmapped_sku_is_ignored_not_quarantined():
    assert map_movement(movement(movement_type="transfer", sku="SKU-404"), mapping()) is None


def test_map_zero_quantity_receipt_gives_zero_entry():
    entry = map_movement(movement(qty=Decimal(0)), mapping())
    assert entry.dcl_qty == 0


@pytest.mark.parametrize(("kind", "expected"), [("receipt", True), ("issue", True), ("adjust", False),
                                                 ("transfer", False), ("teleport", False), (None, False)])
def test_needs_list_follows_the_movement_type(kind, expected):
    assert needs_list(movement(movement_type=kind), mapping()) is expected


@pytest.mark.parametrize(("conversion", "action", "direction", "entry_action", "qty"), [
    ("to_non_bonded", "decrease", "E", "conversion_out", Decimal(-3)),
    ("to_bonded", "increase", "I", "conversion_in", Decimal(3))])
def test_map_conversion_type_gives_conversion_action_with_the_plain_sign(conversion, action, direction, entry_action,
                                                                         qty):
    types = {"convert": {"action": action, "direction": direction, "conversion": conversion}}
    entry = map_movement(movement(movement_type="convert", qty=Decimal(3)), mapping(movement_types=types))
    assert (entry.direction, entry.action, entry.dcl_qty) == (direction, entry_action, qty)
    assert needs_list(movement(movement_type="convert"), mapping(movement_types=types)) is True
