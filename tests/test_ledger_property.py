"""The ledger stage over random revision histories (hypothesis): each line's entries net to its newest revision.

Lines get revisions with any 料号 (one the mapping lacks until it learns it), movement type (one it
does not know, one with no ledger effect, a signed adjustment of either sign) and quantity; posts run
with random batch sizes between them, and the mapping may learn the missing SKU. After every post,
for every line: its entries (postings and reversals) sum to what its newest revision maps to under
the current mapping (nothing when that revision cannot be mapped or has no ledger effect), at most
one of its entries is live, and an open mapping quarantine entry exists exactly when the newest
revision cannot be mapped.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from connector import ledger, sync
from connector.clock import FixedClock
from connector.errors import MappingError
from connector.mapping import map_movement
from connector.mapping_file import load_mapping
from connector.model import Movement
from connector.store.engine import Store
from connector.store.tables import ledger_entries, quarantine
from tests.support.wms import Log, item, write_mapping

AT = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
LINES = ("L1", "L2", "L3")
revise = st.tuples(st.just("revise"), st.sampled_from(LINES), st.sampled_from(("SKU-1", "SKU-2")),
                   st.sampled_from(("receipt", "issue", "adjust", "transfer", "scrap")), st.integers(-20, 20))
post = st.tuples(st.just("post"), st.integers(1, 3))  # batch size
learn = st.just(("learn",))  # the mapping learns SKU-2 (a new mapping version)


class History:
    def __init__(self, folder: Path):
        self.folder, self.clock, self.log = folder, FixedClock(AT), Log()
        self.store = Store.open(f"sqlite:///{folder / 'state.db'}", busy_timeout=5)
        self.mapping = load_mapping(write_mapping(folder / "items.toml"))
        self.newest: dict[str, Movement] = {}

    def play(self, step: tuple) -> None:
        if step[0] == "revise":
            self.revise(*step[1:])
        elif step[0] == "post":
            ledger.post_source(self.store, "wms", self.mapping, clock=self.clock, log=self.log, batch_size=step[1])
            self.check()
        elif step[0] == "learn":
            items = [item(), item(sku="SKU-2", gds_seqno=2, gds_mtno="MT-2")]
            self.mapping = load_mapping(write_mapping(self.folder / "items.toml", items=items))

    def revise(self, line: str, sku: str, kind: str, qty: int) -> None:
        movement = Movement(source="wms", line_key=line, sku=sku, qty=Decimal(qty), uom="EA", movement_type=kind,
                            doc_ref="ASN-1", occurred_at=AT, changed_at=AT)
        with self.store.begin() as conn:
            sync.stage_movements(conn, "wms", [movement], self.clock.now())
        self.newest[line] = movement
        self.clock.advance(seconds=1)

    def check(self) -> None:
        with self.store.read() as conn:
            found = conn.execute(select(ledger_entries)).all()
            held = {r.ref for r in conn.execute(select(quarantine.c.ref).where(
                quarantine.c.stage == "mapping", quarantine.c.resolved_at.is_(None)))}
            live = ledger.live_entries(conn, "wms", sorted(self.newest))
        for line, movement in self.newest.items():
            expected, unmappable = self.effect(movement)
            net: dict = {}
            for entry in (e for e in found if e.line_key == line):
                key = (entry.bws_no, entry.gds_seqno)
                net[key] = net.get(key, Decimal(0)) + entry.dcl_qty
            assert {k: q for k, q in net.items() if q} == expected, (line, movement)
            assert len(live.get(line, [])) <= 1, line
            assert (line in held) == unmappable, (line, movement)

    def effect(self, movement: Movement) -> tuple[dict, bool]:
        try:
            entry = map_movement(movement, self.mapping)
        except MappingError:
            return {}, True
        if entry is None or not entry.dcl_qty:
            return {}, False
        return {(entry.item.bws_no, entry.item.gds_seqno): entry.dcl_qty}, False

    def close(self) -> None:
        self.store.close()


@pytest.mark.timeout(300)
@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.one_of(revise, post, learn), min_size=1, max_size=25))
def test_ledger_after_any_revision_history_nets_each_line_to_its_newest_revision(steps):
    with tempfile.TemporaryDirectory() as folder:
        history = History(Path(folder))
        try:
            for step in steps:
                history.play(step)
            history.play(("post", 2))
        finally:
            history.close()
