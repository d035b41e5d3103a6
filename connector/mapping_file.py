"""The item mapping file (TOML, in `mappings/`): WMS SKU -> ledger item, movement type -> action.

Loaded once, validated with every error at its TOML path, and versioned by content: the mapping
version (label + hash of the file) is recorded on every ledger entry, so an auditor can tell which
mapping produced it and a changed mapping re-tries what the old one quarantined.
"""

from __future__ import annotations

import hashlib
import tomllib
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from connector.config.errors import format_validation_error
from connector.config.schema import Strict
from connector.errors import ConfigError

Factor = Decimal


class ItemMap(Strict):
    sku: str = Field(min_length=1)
    bws_no: str = Field(pattern=r"^[A-Z][0-9A-Z]{11}$", description="账册号 bwsNo / putrecNo")
    gds_seqno: int = Field(ge=1, description="商品序号 gdsSeqno")
    gds_mtno: str = Field(min_length=1, max_length=32, description="料号 gdsMtno")
    gdecd: str = Field(pattern=r"^[0-9]{10}$", description="HS code")
    dcl_unitcd: str = Field(pattern=r"^[0-9]{3}$", description="declared unit code")
    lawf_unitcd: str = Field(pattern=r"^[0-9]{3}$", description="legal unit code")
    units: dict[str, Factor] = Field(min_length=1, description="WMS unit -> declared units per WMS unit")
    lawf_factor: Factor | None = Field(default=None, description="legal units per declared unit")

    @field_validator("units")
    @classmethod
    def _positive_units(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for uom, factor in value.items():
            if not factor.is_finite() or factor <= 0:
                raise ValueError(f"factor for unit {uom!r} must be a positive number, got {factor}")
        return value

    @model_validator(mode="after")
    def _legal_factor(self) -> ItemMap:
        if self.lawf_factor is None and self.lawf_unitcd != self.dcl_unitcd:
            raise ValueError("lawf_factor is required when lawf_unitcd differs from dcl_unitcd")
        if self.lawf_factor is not None and (not self.lawf_factor.is_finite() or self.lawf_factor <= 0):
            raise ValueError("lawf_factor must be a positive number")
        return self


CONVERSION_ACTIONS = {"to_non_bonded": ("decrease", "E"), "to_bonded": ("increase", "I")}  # (action, direction)


class MovementTypeMap(Strict):
    action: Literal["increase", "decrease", "signed", "none"]
    direction: Literal["I", "E"] | None = None
    qty_sign: Literal["positive", "negative", "any"] = "positive"
    needs_list: bool | None = Field(default=None, description="must a 核注清单 cover it (default: increase/decrease)")
    conversion: Literal["to_non_bonded", "to_bonded"] | None = Field(
        default=None, description="分类监管 conversion: 保税转非保 (a 核减, E) or 非保转保税 (a 核增, I)")

    @model_validator(mode="after")
    def _direction(self) -> MovementTypeMap:
        if self.action in ("increase", "decrease") and self.direction is None:
            raise ValueError(f"direction (I or E) is required for action {self.action!r}")
        return self

    @field_validator("conversion")
    @classmethod
    def _conversion(cls, value: str | None, info: ValidationInfo) -> str | None:
        """保税转非保 is a 核减 of the bonded ledger (decrease, E); 非保转保税 a 核增 (increase, I)."""
        needed = CONVERSION_ACTIONS.get(value or "")
        got = (info.data.get("action"), info.data.get("direction"))
        if needed and got != needed:
            raise ValueError(f"conversion {value!r} needs action = {needed[0]!r} and direction = {needed[1]!r} "
                             f"(got action {got[0]!r}, direction {got[1]!r})")
        return value

    @property
    def entry_action(self) -> str | None:
        """The ledger entry's `action` for a conversion type (None: plain increase / decrease)."""
        return {"to_non_bonded": "conversion_out", "to_bonded": "conversion_in"}.get(self.conversion or "")

    @property
    def requires_list(self) -> bool:
        return self.needs_list if self.needs_list is not None else self.action in ("increase", "decrease")


class MappingFile(Strict):
    label: str = "mapping"
    sku_normalise: Literal["none", "strip", "nfkc_strip", "nfkc_strip_upper"] = "nfkc_strip"
    precision: int = Field(default=5, ge=0, le=9, description="decimals allowed in declared quantities")
    items: list[ItemMap] = Field(min_length=1)
    movement_types: dict[str, MovementTypeMap] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_skus(self) -> MappingFile:
        seen: set[str] = set()
        for item in self.items:
            key = normalise_sku(item.sku, self.sku_normalise)
            if key in seen:
                raise ValueError(f"sku {item.sku!r} is mapped twice")
            seen.add(key)
        return self


def normalise_sku(sku: str, rule: str) -> str:
    """Apply the mapping's declared SKU rule (RELIABILITY.md B5 #2); never fuzzy."""
    if rule == "none":
        return sku
    text = unicodedata.normalize("NFKC", sku) if rule.startswith("nfkc") else sku
    text = text.strip()
    return text.upper() if rule.endswith("upper") else text


class Mapping:
    """A loaded mapping: lookups by normalised SKU and movement type, plus its version."""

    def __init__(self, spec: MappingFile, version: str, path: Path | None = None):
        self.spec = spec
        self.version = version
        self.path = path
        self.items = {normalise_sku(i.sku, spec.sku_normalise): i for i in spec.items}

    def item_for(self, sku: str) -> ItemMap | None:
        return self.items.get(normalise_sku(sku, self.spec.sku_normalise))


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file; ConfigError lists every problem with the file name."""
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{path}: {exc}"]) from None
    try:
        spec = MappingFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc)) from None
    return Mapping(spec, f"{spec.label}@{hashlib.sha256(raw).hexdigest()[:12]}", path)
