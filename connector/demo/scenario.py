"""The demo month: WMS documents (receipts, deliveries, stock counts) and the anomalies planted in it.

Times are naive Asia/Shanghai wall-clock times, as the WMS stores them. The month is laid out on a
day grid that ends four days before `now`, so every planted anomaly is older than the default
grace windows (72 h movements and lists, 48 h balances); a few documents on the day before `now`
are deliberately still in flight. A fixed seed makes the month the same on every run.

Planted, one story per kind of discrepancy:
  quantity_mismatch      SSD delivery: list says 30 cartons, the WMS shipped 29
  missing_list           copper wire delivery that left without a 核注清单
  list_without_movement  keyboard order cancelled in the WMS after its list was pre-deducted
  balance_mismatch       two monitors written off in a stock count (no list covers that)
and an unmapped SKU on a receipt (quarantined), plus a count difference that was found again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from connector.demo.catalog import BY_SKU, ITEMS, SEED, UNMAPPED_SKU

ZONE = ZoneInfo("Asia/Shanghai")
MONTH_DAYS = 30  # day 0 .. day 30 is the month; day 33 is the day before `now`
RECENT_DAY = 33


@dataclass(frozen=True)
class DocLine:
    sku: str
    qty: Decimal  # in the WMS unit
    uom: str
    picks: int = 1  # rows the WMS writes for this line (a split pick is two)


@dataclass(frozen=True)
class Doc:
    """A WMS document; its number is the list's etpsInnerInvtNo."""

    kind: str  # ASN receipt (I) | DO delivery (E) | CNT stock count (no list)
    at: datetime  # local naive time the goods moved
    lines: tuple[DocLine, ...]
    listing: str = "posted"  # posted | prededucted | none
    declared_qty: tuple[tuple[str, Decimal], ...] = ()  # sku -> declared qty that differs from the WMS
    cancelled: bool = False  # the WMS order was cancelled: its rows exist with status 'cancelled'
    supv_modecd: str = "5034"
    no: str = ""

    @property
    def direction(self) -> str:
        return "I" if self.kind == "ASN" else "E"


def base_day(now: datetime) -> datetime:
    """Local midnight of day 0 of the demo month."""
    local = now.astimezone(ZONE).date() - timedelta(days=RECENT_DAY + 1)
    return datetime.combine(local, time())


def build_documents(now: datetime) -> list[Doc]:
    """Every document of the month, numbered, oldest first."""
    base = base_day(now)
    rng = random.Random(SEED)
    docs = _opening(base) + _replenishments(base, rng) + _deliveries(base, rng) + _planted(base)
    return _numbered(sorted(docs, key=lambda d: d.at))


def _at(base: datetime, day: int, hour: int, minute: int = 0) -> datetime:
    return base + timedelta(days=day, hours=hour, minutes=minute)


def _line(sku: str, qty: int | str, uom: str, picks: int = 1) -> DocLine:
    return DocLine(sku, Decimal(qty), uom, picks)


def _opening(base: datetime) -> list[Doc]:
    """Two containers on day 0 open every ledger line."""
    first = (_line("LAPTOP-14", 400, "EA"), _line("MON-27", 250, "EA"), _line("PHONE-X5", 500, "EA"))
    second = (_line("SSD-1TB", 300, "CTN"), _line("CU-WIRE-25", 160, "ROLL"),
              _line("KBD-USB", 60, "CTN"), _line("TONER-K", 150, "BOX"))
    return [Doc("ASN", _at(base, 0, 9, 30), first), Doc("ASN", _at(base, 0, 14, 10), second)]


def _replenishments(base: datetime, rng: random.Random) -> list[Doc]:
    docs = []
    for day in (8, 17, 26):
        items = rng.sample(ITEMS, 3)
        lines = tuple(_line(i.sku, rng.randrange(40, 120), _big_unit(i.sku)) for i in items)
        docs.append(Doc("ASN", _at(base, day, 10, rng.randrange(0, 50)), lines))
    return docs


def _big_unit(sku: str) -> str:
    return max(BY_SKU[sku].units, key=lambda uom: BY_SKU[sku].units[uom])


def _deliveries(base: datetime, rng: random.Random) -> list[Doc]:
    """About one delivery a day, 1-3 lines, sometimes picked from two locations."""
    docs = []
    for day in range(2, MONTH_DAYS + 1):
        for _ in range(rng.choice((1, 1, 1, 2))):
            items = rng.sample(ITEMS, rng.choice((1, 2, 2, 3)))
            lines = tuple(_delivery_line(item.sku, rng) for item in items)
            at = _at(base, day, rng.randrange(9, 17), rng.randrange(0, 60))
            docs.append(Doc("DO", at, lines, supv_modecd=rng.choice(("5034", "5034", "5000"))))
    return docs


def _delivery_line(sku: str, rng: random.Random) -> DocLine:
    item = BY_SKU[sku]
    uom = rng.choice(sorted(item.units))
    qty = rng.randrange(2, 12) if item.units[uom] > 1 else rng.randrange(5, 40)
    return _line(sku, qty, uom, picks=2 if qty >= 6 and rng.random() < 0.25 else 1)


def _planted(base: datetime) -> list[Doc]:
    """The anomalies the comparator must find, and the documents still in flight."""
    return [
        Doc("CNT", _at(base, 12, 18, 20), (_line("LAPTOP-14", -1, "EA"),), listing="none"),
        Doc("CNT", _at(base, 14, 17, 45), (_line("LAPTOP-14", 1, "EA"),), listing="none"),
        Doc("ASN", _at(base, 15, 10, 40), (_line("LAPTOP-14", 60, "EA"), _line(UNMAPPED_SKU, 200, "EA"))),
        Doc("DO", _at(base, 19, 15, 5), (_line("SSD-1TB", 29, "CTN", picks=2),),
            declared_qty=(("SSD-1TB", Decimal(300)),)),
        Doc("DO", _at(base, 22, 11, 30), (_line("KBD-USB", 15, "CTN"),), listing="prededucted", cancelled=True),
        Doc("DO", _at(base, 24, 16, 50), (_line("CU-WIRE-25", 10, "ROLL"),), listing="none"),
        Doc("CNT", _at(base, 27, 18, 0), (_line("MON-27", -2, "EA"),), listing="none"),
        Doc("DO", _at(base, RECENT_DAY, 10, 30), (_line("LAPTOP-14", 24, "EA"),), listing="prededucted"),
        Doc("DO", _at(base, RECENT_DAY, 16, 10), (_line("PHONE-X5", 30, "EA"),), listing="none"),
    ]


def _numbered(docs: list[Doc]) -> list[Doc]:
    """ASN-/DO-/CNT-yymmdd-nn, counted per kind and day."""
    counts: dict[tuple[str, str], int] = {}
    out = []
    for doc in docs:
        key = (doc.kind, doc.at.strftime("%y%m%d"))
        counts[key] = counts.get(key, 0) + 1
        out.append(replace(doc, no=f"{doc.kind}-{key[1]}-{counts[key]:02d}"))
    return out
