"""Comparator rules: small pure functions over plain data (Decimal, aware datetimes), no I/O.

C1 balance.py · C2 documents.py, unreferenced.py · C3/C4 gate.py · C5 dispatch.py · C6/C7 periods.py
· C7 conversions conversion.py · C8 in documents.py and dispatch.py · C9 writeoff.py · N:M allocation
and units: allocation.py.
"""

from connector.compare.rules.balance import (
           available_balance,
           balance,
           balance_one,
           formal_balance,
)
from connector.compare.rules.base import (
           KIND_LABELS,
           RATE_PLACES,
           RuleResult,
           discrepancy_id,
)
from connector.compare.rules.documents import movement_vs_list
from connector.compare.rules.inputs import (
           LedgerState,
           ListItem,
           WmsBalance,
           WmsDocItem,
           WmsLine,
)
from connector.compare.rules.unreferenced import unreferenced

__all__ = ["KIND_LABELS", "RATE_PLACES", "LedgerState", "ListItem", "RuleResult", "WmsBalance", "WmsDocItem",
           "WmsLine", "available_balance", "balance", "balance_one", "discrepancy_id", "formal_balance",
           "movement_vs_list", "unreferenced"]
