"""The [compare] section: every tolerance, grace window and formula of the comparator."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from connector.config.base import Strict


class CompareSection(Strict):
    movement_grace_hours: Decimal = Field(default=Decimal(72), ge=0)
    list_grace_hours: Decimal = Field(default=Decimal(72), ge=0)
    balance_grace_hours: Decimal = Field(default=Decimal(48), ge=0)
    qty_tolerance: Decimal = Field(default=Decimal(0), ge=0)
    balance_formula: Literal["in_plus_actual", "actual_only"] = "in_plus_actual"
    declared_precision: int = Field(default=5, ge=0, le=9)
