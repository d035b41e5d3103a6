"""The item mapping file: validated at load with every error at its TOML path, versioned by content."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from connector.errors import ConfigError
from connector.mapping_file import load_mapping, normalise_sku
from tests.support.wms import item, write_mapping


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_mapping(path)
    return caught.value.problems


def test_load_mapping_valid_file_gives_items_by_normalised_sku(tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml", items=[item(sku=" ＳＫＵ－１ ")]))
    assert mapping.item_for("SKU-1").gds_seqno == 1
    assert mapping.item_for("SKU-1  ").bws_no == "T2345W000001"
    assert mapping.spec.precision == 5
    assert mapping.path == tmp_path / "items.toml"


def test_load_mapping_factors_are_exact_decimals(tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml", items=[item(units={"箱": Decimal("0.1")})]))
    assert mapping.item_for("SKU-1").units == {"箱": Decimal("0.1")}
    assert isinstance(mapping.item_for("SKU-1").units["箱"], Decimal)


def test_load_mapping_version_is_label_and_content_hash(tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml"))
    label, digest = mapping.version.split("@")
    assert label == "test"
    assert len(digest) == 12


def test_load_mapping_same_content_gives_same_version(tmp_path):
    one = load_mapping(write_mapping(tmp_path / "a.toml"))
    two = load_mapping(write_mapping(tmp_path / "b.toml"))
    assert one.version == two.version


def test_load_mapping_changed_file_gives_new_version(tmp_path):
    path = write_mapping(tmp_path / "items.toml")
    before = load_mapping(path).version
    write_mapping(path, items=[item(), item(sku="SKU-2", gds_seqno=2)])
    assert load_mapping(path).version != before


@pytest.mark.parametrize("factor", [Decimal(0), Decimal("-1.5"), Decimal("0.000")])
def test_load_mapping_zero_or_negative_unit_factor_is_refused(tmp_path, factor):
    path = write_mapping(tmp_path / "items.toml", items=[item(units={"CS": factor})])
    assert problems(path) == [f"{path}: items[0].units: factor for unit 'CS' must be a positive number, got {factor}"]


def test_load_mapping_non_finite_factor_is_refused(tmp_path):
    path = tmp_path / "items.toml"
    write_mapping(path, items=[item(units={"CS": Decimal(12)})])
    path.write_text(path.read_text(encoding="utf-8").replace("CS = 12", "CS = inf"), encoding="utf-8")
    [problem] = problems(path)
    assert problem.startswith(f"{path}: items[0].units")


def test_load_mapping_lawf_factor_required_when_units_differ(tmp_path):
    path = write_mapping(tmp_path / "items.toml", items=[item(lawf_unitcd="035")])
    assert problems(path) == [f"{path}: items[0]: lawf_factor is required when lawf_unitcd differs from dcl_unitcd"]


def test_load_mapping_lawf_factor_not_required_when_units_equal(tmp_path):
    assert load_mapping(write_mapping(tmp_path / "items.toml")).item_for("SKU-1").lawf_factor is None


@pytest.mark.parametrize("factor", [Decimal(0), Decimal("-2")])
def test_load_mapping_zero_or_negative_lawf_factor_is_refused(tmp_path, factor):
    path = write_mapping(tmp_path / "items.toml", items=[item(lawf_unitcd="035", lawf_factor=factor)])
    assert problems(path) == [f"{path}: items[0]: lawf_factor must be a positive number"]


def test_load_mapping_increase_without_direction_is_refused(tmp_path):
    path = write_mapping(tmp_path / "items.toml", movement_types={"receipt": {"action": "increase"}})
    assert problems(path) == [f"{path}: movement_types.receipt: direction (I or E) is required for action 'increase'"]


def test_load_mapping_unknown_action_is_reported_at_its_path(tmp_path):
    path = write_mapping(tmp_path / "items.toml", movement_types={"receipt": {"action": "add", "direction": "I"}})
    [problem] = problems(path)
    assert problem.startswith(f"{path}: movement_types.receipt.action: input should be ")


def test_load_mapping_same_sku_after_normalisation_is_refused(tmp_path):
    path = write_mapping(tmp_path / "items.toml", items=[item(), item(sku="ＳＫＵ－１ ", gds_seqno=2)])
    assert problems(path) == [f"{path}: (top level): sku 'ＳＫＵ－１ ' is mapped twice"]


def test_load_mapping_every_field_error_is_listed_with_its_path(tmp_path):
    path = write_mapping(tmp_path / "items.toml", items=[
        item(bws_no="t2345", gds_seqno=0), item(sku="SKU-2", gdecd="84713", units={"EA": Decimal(-1)})])
    found = problems(path)
    assert {p.split(": ")[1] for p in found} == {"items[0].bws_no", "items[0].gds_seqno", "items[1].gdecd",
                                                 "items[1].units"}
    assert all(p.startswith(f"{path}: ") for p in found)


def test_load_mapping_unknown_key_is_refused(tmp_path):
    path = write_mapping(tmp_path / "items.toml", items=[item(factor=Decimal(1))])
    assert problems(path) == [f"{path}: items[0].factor: unknown key (not in the schema; check the spelling)"]


def test_load_mapping_without_items_is_refused(tmp_path):
    path = write_mapping(tmp_path / "items.toml", items=[])
    [problem] = problems(path)
    assert problem.startswith(f"{path}: items: ")


def test_load_mapping_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "items.toml"
    path.write_text("[[items]\nsku = 1\n", encoding="utf-8")
    [problem] = problems(path)
    assert problem.startswith(f"{path}: ")


def test_load_mapping_missing_file_names_it(tmp_path):
    [problem] = problems(tmp_path / "absent.toml")
    assert problem.startswith(f"{tmp_path / 'absent.toml'}: ")
    assert "No such file" in problem


@pytest.mark.parametrize(("rule", "raw", "expected"), [
    ("none", " ＡＢＣ１２３ ", " ＡＢＣ１２３ "),
    ("strip", " ＡＢＣ１２３ ", "ＡＢＣ１２３"),
    ("nfkc_strip", "ＡＢＣ１２３\u3000", "ABC123"),
    ("nfkc_strip", "abc123 ", "abc123"),
    ("nfkc_strip_upper", " ａｂｃ１２３", "ABC123"),
])
def test_normalise_sku_applies_only_the_declared_rule(rule, raw, expected):
    assert normalise_sku(raw, rule) == expected


@pytest.mark.parametrize(("conversion", "action", "direction", "needed"), [
    ("to_non_bonded", "increase", "I", "action = 'decrease' and direction = 'E'"),
    ("to_bonded", "decrease", "E", "action = 'increase' and direction = 'I'"),
    ("to_bonded", "signed", None, "action = 'increase' and direction = 'I'")])
def test_load_mapping_conversion_with_the_wrong_action_is_refused_at_its_path(tmp_path, conversion, action, direction,
                                                                             needed):
    kind = {"action": action, "conversion": conversion, **({"direction": direction} if direction else {})}
    path = write_mapping(tmp_path / "items.toml", movement_types={"convert": kind})
    [problem] = problems(path)
    assert problem.startswith(f"{path}: movement_types.convert.conversion: conversion '{conversion}' needs {needed}")


def test_load_mapping_unknown_conversion_is_refused_at_its_path(tmp_path):
    kind = {"action": "decrease", "direction": "E", "conversion": "sideways"}
    [problem] = problems(write_mapping(tmp_path / "items.toml", movement_types={"convert": kind}))
    assert ": movement_types.convert.conversion: input should be 'to_non_bonded' or 'to_bonded'" in problem
