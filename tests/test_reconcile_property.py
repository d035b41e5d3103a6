"""The reconciliation over random warehouse histories (hypothesis, the GreaterWMS profile on SQLite).

GreaterWMS writes each picking as a signed `qtyrecorder` row and the bin's on-hand together; a
count adjustment changes `stockbin` alone (the log omits it). Between pickings, adjustments, syncs,
syncs that stage without posting, and reconciliations, whatever the sync has or has not read (with
the profile's id cursor, or with a full read each run: `snapshot`): the
open `wms_snapshot_mismatch` discrepancies are exactly the items with adjustments the log omitted,
each with the ledger minus the WMS as its delta. Movements in flight never show as a difference.
"""

from __future__ import annotations

import sqlite3
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from connector import sync
from connector.store.tables import discrepancies
from tests.profiles.conftest import Site
from tests.profiles.loaders import load_sqlite

LOGGED = {"NB-14-I7": 72, "SSD-1TB": 380, "CU-WIRE-2.5": 1250500}  # the fixture log's totals, base units
SEQNO = {"NB-14-I7": 1, "SSD-1TB": 2, "CU-WIRE-2.5": 3}  # their ledger lines in greaterwms.toml
BASE = {"NB-14-I7": Decimal(1), "SSD-1TB": Decimal(1), "CU-WIRE-2.5": Decimal("0.001")}  # declared per base unit
goods = st.sampled_from(sorted(LOGGED))
step = st.one_of(st.tuples(st.just("pick"), goods, st.integers(-5, 5).filter(bool)),
                 st.tuples(st.just("adjust"), goods, st.integers(-3, 3).filter(bool)),
                 st.just(("sync",)), st.just(("stage",)), st.just(("reconcile",)))


class Warehouse:
    def __init__(self, folder: Path, cursor: str):
        self.db = folder / "greaterwms.db"
        load_sqlite(self.db, "greaterwms")
        with sqlite3.connect(self.db) as db:
            db.executemany("INSERT INTO stockbin (bin_name, goods_code, goods_desc, goods_qty, pick_qty, picked_qty, "
                           "bin_size, bin_property, t_code, openid, create_time) VALUES ('A-01-01', ?, '', ?, 0, 0, "
                           "'', '', '', '', '2024-03-09 10:30:00')", sorted(LOGGED.items()))
        self.site = Site(folder, "greaterwms", f"sqlite:///{self.db}", "greaterwms.toml",
                         settings=(f'cursor = "{cursor}"',))
        self.omitted: dict[str, int] = {}  # adjustments the log does not hold, base units

    def play(self, step: tuple) -> None:
        kind = step[0]
        if kind == "pick":  # put-away (+) or picking (-): the log row and the bin together
            self._write(step[1], step[2], logged=True)
        elif kind == "adjust":  # a count difference: the bin alone
            self._write(step[1], step[2], logged=False)
            self.omitted[step[1]] = self.omitted.get(step[1], 0) + step[2]
        elif kind == "sync":
            self.site.app.sync()
        elif kind == "stage":  # read and staged, the ledger stage not run
            sync.sync_source(self.site.app.store, "wms", self.site.app.adapter("sources", "wms"),
                             clock=self.site.app.clock, log=self.site.app.log, batch_size=2)
        else:
            self.site.app.reconcile()
            assert self.open_differences() == self.expected()

    def _write(self, sku: str, qty: int, logged: bool) -> None:
        with sqlite3.connect(self.db) as db:
            if logged:
                db.execute("INSERT INTO qtyrecorder (openid, mode_code, bin_name, goods_code, goods_desc, goods_qty, "
                           "store_code, creater, create_time) VALUES ('', 'DN-P', 'A-01-01', ?, '', ?, '', '', "
                           "'2024-03-10 09:00:00')", (sku, qty))
            db.execute("UPDATE stockbin SET goods_qty = goods_qty + ? WHERE goods_code = ?", (qty, sku))

    def expected(self) -> dict[int, Decimal]:
        """Ledger line -> ledger minus WMS: the adjustments the log omitted, with the opposite sign."""
        return {SEQNO[sku]: (-qty * BASE[sku]).normalize() for sku, qty in self.omitted.items() if qty}

    def open_differences(self) -> dict[int, Decimal]:
        with self.site.app.store.read() as conn:
            return {r.item_seq: r.delta_qty.normalize() for r in conn.execute(
                select(discrepancies).where(discrepancies.c.kind == "wms_snapshot_mismatch",
                                            discrepancies.c.status == "open"))}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("cursor", ["monotonic", "snapshot"])  # the profile's id cursor; a full read each run
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=20))
def test_reconciliation_after_any_history_reports_exactly_the_adjustments_the_log_omitted(cursor, steps):
    with tempfile.TemporaryDirectory() as folder:
        warehouse = Warehouse(Path(folder), cursor)
        try:
            for one in [*steps, ("reconcile",)]:
                warehouse.play(one)
        finally:
            warehouse.site.app.close()
