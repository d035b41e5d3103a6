"""What every rule shares: discrepancy kinds and their customs names, ids, grace windows, results.

Rules are pure functions over plain data (Decimal quantities, aware datetimes): no I/O, no clock.
Each returns the discrepancies it finds and the ids it holds back as "in flight" (inside a grace
window), with the instant each window ends so the engine knows when to look again.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from connector.model import Discrepancy

KIND_LABELS = {
    "missing_list": "无单出入",  # C2 a movement no 核注清单 line covers
    "list_without_movement": "有单无货",  # C2 a 核注清单 line with no movement
    "quantity_mismatch": "数量不符",  # C2 both exist, quantities differ
    "balance_mismatch": "账货差异",  # C1 ledger balance vs WMS stock
    "item_mismatch": "料号不符",  # C2 the document moved one 料号, the list declares another
    "unit_mismatch": "单位不符",  # C2 list unit differs from the mapped declared unit
    "direction_mismatch": "进出方向不符",  # C2 goods moved in, list declares out (or the reverse)
    "passport_over_allocation": "核放超量",  # C3 Σ truck quantities above the list line
    "passport_shortfall": "核放不足",  # C3 list closed with quantity not passed
    "weight_over_tolerance": "重量超差",  # C4 passport vs weighbridge vs WMS weight
    "dispatch_without_passport": "无单出区",  # C5 goods out without a passport
    "passport_without_loading": "有单无装车",  # C5 passport without a loading
    "collective_overdue": "超期未集报",  # C6 出入库单 not collectively declared in time
    "bonded_status_mismatch": "保税状态不符",  # C7 non-bonded stock on a bonded ledger line
    "conversion_unbooked": "分类监管转换未核增/核减",  # C7 a bonded <-> non-bonded conversion not in the ledger
    "state_mismatch": "状态不一致",  # C8 list rejected / passport voided but goods moved
    "writeoff_imbalance": "核销不平",  # C9 opening + in - out != closing
    "writeoff_due": "超期未核销",  # C9 the 60-day filing deadline approaches or passed
}
ZERO = Decimal(0)
RATE_PLACES = Decimal("0.00001")


@dataclass
class RuleResult:
    found: list[Discrepancy] = field(default_factory=list)
    in_flight: set[str] = field(default_factory=set)
    due: dict[str, datetime] = field(default_factory=dict)  # in-flight id -> when its window ends

    def hold(self, did: str, until: datetime) -> None:
        self.in_flight.add(did)
        self.due[did] = until

    def extend(self, other: RuleResult) -> RuleResult:
        self.found += other.found
        self.in_flight |= other.in_flight
        self.due.update(other.due)
        return self


def discrepancy_id(kind: str, *key: object) -> str:
    text = "|".join([kind, *(str(k) for k in key)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def within_window(items: list, times: list[datetime], at: datetime, window: timedelta) -> list:
    """Of `items` sorted by time (`times`, the same order), those within `window` of `at`: a
    bisected slice, so matching against a long history does not scan it whole."""
    return items[bisect_left(times, at - window):bisect_right(times, at + window)]


def window_end(moment: datetime, hours: Decimal) -> datetime:
    return moment + _window(hours)


@lru_cache(maxsize=64)
def _window(hours: Decimal) -> timedelta:  # a few configured windows, asked for once per finding
    return timedelta(seconds=float(hours * 3600))


def within(moment: datetime, now: datetime, hours: Decimal) -> bool:
    return now < window_end(moment, hours)


def held(result: RuleResult, did: str, moment: datetime | None, now: datetime, hours: Decimal) -> bool:
    """True (and the id held back until the window ends) when `moment` is inside the grace window."""
    if moment is None or not within(moment, now, hours):
        return False
    result.hold(did, window_end(moment, hours))
    return True


def rate(delta: Decimal, base: Decimal) -> str | None:
    return None if base == 0 else str((delta / base).quantize(RATE_PLACES))
