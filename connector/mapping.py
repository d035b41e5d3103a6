"""Movement -> ledger entry: a pure function over plain data (no I/O).

Every way a movement can fail to map raises MappingError with a stable reason code; the ledger
stage quarantines it. Nothing is ever mapped to a default item, unit or direction.
"""

from __future__ import annotations

from decimal import Decimal

from connector.errors import MappingError
from connector.mapping_file import ItemMap, Mapping, MovementTypeMap
from connector.model import LedgerEntry, LedgerItem, Movement


def map_movement(movement: Movement, mapping: Mapping) -> LedgerEntry | None:
    """The ledger entry for one movement, or None when its type has no ledger effect."""
    kind = _movement_type(movement, mapping)
    if kind.action == "none":
        return None
    item = _item(movement, mapping)
    _check_sign(movement, kind)
    dcl_qty = _declared_qty(movement, item, mapping.spec.precision)
    increase = _is_increase(kind, movement.qty)
    signed = dcl_qty if increase else -dcl_qty
    lawf_qty = _within_precision(signed * (item.lawf_factor or Decimal(1)), mapping.spec.precision,
                                 item.lawf_unitcd)
    return LedgerEntry(
        item=ledger_item(item),
        direction=kind.direction or ("I" if increase else "E"),
        action=kind.entry_action or ("increase" if increase else "decrease"),
        dcl_qty=signed,
        lawf_qty=lawf_qty,
        doc_ref=movement.doc_ref,
        occurred_at=movement.occurred_at,
        mapping_version=mapping.version,
    )


def ledger_item(item: ItemMap) -> LedgerItem:
    return LedgerItem(item.bws_no, item.gds_seqno, item.gds_mtno, item.gdecd, item.dcl_unitcd, item.lawf_unitcd)


def needs_list(movement: Movement, mapping: Mapping) -> bool:
    kind = mapping.spec.movement_types.get(movement.movement_type or "")
    return bool(kind and kind.requires_list)


def _movement_type(movement: Movement, mapping: Mapping) -> MovementTypeMap:
    if not movement.movement_type:
        raise MappingError("movement_type_missing", "the row has no movement type")
    kind = mapping.spec.movement_types.get(movement.movement_type)
    if kind is None:
        raise MappingError("unknown_movement_type", f"movement type {movement.movement_type!r} is not in the mapping")
    return kind


def _item(movement: Movement, mapping: Mapping) -> ItemMap:
    if movement.sku is None or not movement.sku.strip():
        raise MappingError("sku_missing", "the row has no SKU")
    item = mapping.item_for(movement.sku)
    if item is None:
        raise MappingError("unmapped_sku", f"SKU {movement.sku!r} is not in the mapping")
    return item


def _check_sign(movement: Movement, kind: MovementTypeMap) -> None:
    if movement.qty == 0:
        return
    if kind.qty_sign == "positive" and movement.qty < 0:
        raise MappingError("negative_qty", f"{movement.movement_type} quantity must be positive, got {movement.qty}")
    if kind.qty_sign == "negative" and movement.qty > 0:
        raise MappingError("positive_qty", f"{movement.movement_type} quantity must be negative, got {movement.qty}")


def _declared_qty(movement: Movement, item: ItemMap, precision: int) -> Decimal:
    if not movement.uom:
        raise MappingError("uom_missing", "the row has no unit of measure")
    factor = item.units.get(movement.uom)
    if factor is None:
        raise MappingError(
            "unit_unconvertible",
            f"no factor from WMS unit {movement.uom!r} to declared unit {item.dcl_unitcd} for SKU {item.sku!r}",
        )
    return _within_precision(abs(movement.qty) * factor, precision, item.dcl_unitcd)


MAX_INTEGER_DIGITS = 14  # customs quantities are decimal(19,5)


def _within_precision(qty: Decimal, precision: int, unit: str) -> Decimal:
    """Never round silently (B5 #6): more decimals than the ledger keeps is a quarantine."""
    if qty and qty.adjusted() >= MAX_INTEGER_DIGITS:
        raise MappingError("qty_out_of_range", f"{qty} {unit} does not fit a customs quantity (decimal 19,5)")
    exponent = qty.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > precision:
        raise MappingError("precision_exceeded", f"{qty} has more than {precision} decimals in unit {unit}")
    return qty


def _is_increase(kind: MovementTypeMap, qty: Decimal) -> bool:
    if kind.action == "signed":
        return qty >= 0
    return kind.action == "increase"
