"""The [compare] section: every tolerance, grace window, deadline and formula of the comparator.

Defaults are documented in config.example.toml and docs/compare.md. Where customs publishes no
figure (gate weight tolerance, 分送集报 deadline) the default is a stated reading, not a fact.
"""

from __future__ import annotations

import decimal
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from pydantic import Field

from connector.config.base import Strict

ROUNDINGS = Literal["ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_DOWN", "ROUND_UP", "ROUND_FLOOR", "ROUND_CEILING"]


class Tolerance(Strict):
    """A tolerance override for one ledger item ("T2345W000001:12") or HS chapter ("hs:84")."""

    absolute: Decimal = Field(default=Decimal(0), ge=0)
    relative: Decimal = Field(default=Decimal(0), ge=0)


class CompareSection(Strict):
    movement_grace_hours: Decimal = Field(default=Decimal(72), ge=0)
    list_grace_hours: Decimal = Field(default=Decimal(72), ge=0)
    balance_grace_hours: Decimal = Field(default=Decimal(48), ge=0)
    qty_tolerance: Decimal = Field(default=Decimal(0), ge=0)
    qty_tolerance_rate: Decimal = Field(default=Decimal(0), ge=0)
    tolerances: dict[str, Tolerance] = Field(default_factory=dict)
    balance_formula: Literal["in_plus_actual", "actual_only"] = "in_plus_actual"
    declared_precision: int = Field(default=5, ge=0, le=9)
    rounding: ROUNDINGS = "ROUND_HALF_UP"
    unreferenced_window_hours: Decimal = Field(default=Decimal(48), ge=0)
    passport_grace_hours: Decimal = Field(default=Decimal(72), ge=0)
    weight_tolerance_kg: Decimal = Field(default=Decimal(0), ge=0)
    weight_tolerance_rate: Decimal = Field(default=Decimal("0.03"), ge=0)
    dispatch_window_hours: Decimal = Field(default=Decimal(12), ge=0)
    dispatch_all_vehicles: bool = False
    collective_deadline: Literal["end_of_next_month", "days"] = "end_of_next_month"
    collective_deadline_days: int = Field(default=30, ge=1)
    non_bonded_locations: list[str] = Field(default_factory=list)
    non_bonded_ledgers: list[str] = Field(default_factory=list)
    writeoff_period_start: str = "01-01"
    writeoff_period_months: int = Field(default=12, ge=1, le=12)
    writeoff_filing_days: int = Field(default=60, ge=1, le=90)
    writeoff_warning_days: int = Field(default=14, ge=0)
    writeoff_since: date | None = None  # first period customs set for this site; None: no filing warnings

    def tolerance_for(self, bws_no: str | None, gds_seqno: object, gdecd: str | None = None) -> Tolerance:
        """The most specific tolerance: ledger item, then HS chapter, then the section default."""
        for key in (f"{bws_no}:{gds_seqno}", f"hs:{(gdecd or '')[:2]}"):
            if key in self.tolerances:
                return self.tolerances[key]
        return _default_tolerance(self.qty_tolerance, self.qty_tolerance_rate)

    def quantize(self, qty: Decimal) -> Decimal:
        """Declared precision with the configured rounding (never silent: callers keep the residue)."""
        step = Decimal(1).scaleb(-self.declared_precision)
        return qty.quantize(step, rounding=getattr(decimal, self.rounding))


@lru_cache(maxsize=64)
def _default_tolerance(absolute: Decimal, relative: Decimal) -> Tolerance:
    """The section's own tolerance as a Tolerance (validated once, not once per compared item)."""
    return Tolerance(absolute=absolute, relative=relative)


def within_tolerance(delta: Decimal, reference: Decimal, tol: Tolerance) -> bool:
    """|delta| at or below the absolute tolerance or the relative one (of |reference|)."""
    return abs(delta) <= tol.absolute or (tol.relative > 0 and abs(delta) <= tol.relative * abs(reference))
