"""Cursor strategies over random WMS histories (hypothesis): no row below the cursor is ever missing.

Each example writes a real SQLite WMS through a history of inserts, edits, deletes (snapshot only),
clock moves and syncs with random batch sizes. After every sync the store is checked against what
the strategy promises at that cursor, and after a final run everything must be staged, each line's
latest revision equal to the WMS row and no revision repeating the one before it:

- keyset: every row at or below the stored cursor, except a row written with a time at or below the
  cursor of its moment (a late commit, here at most 15 minutes after its timestamp: within lag +
  `overlap_seconds`), which the next overlap pass must bring however far the cursor moved meanwhile
  (passes an hour apart, a window of 20 minutes);
- monotonic: every id at or below the cursor (ids are handed out in order, times may be backdated),
  except an id left in a gap and committed after the cursor passed it (a transaction that took its
  id first and committed last), here within `overlap_every_seconds` of that moment and above where
  the cursor stood when the overlap clock started, which the next overlap pass must bring;
- snapshot: every row the WMS holds, and every staged line the WMS dropped reported as vanished until
  it is written again.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from connector import registry, sync
from connector.clock import FixedClock
from connector.store.engine import Store
from connector.store.tables import movements, quarantine
from tests.support.wms import NOW, Log, Wms, source_settings

LAG, OVERLAP, OVERLAP_EVERY = 300, 1200, 3600  # seconds
LOCAL = ZoneInfo("Asia/Shanghai")  # the test WMS's wall-clock time zone (source_settings)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

add = st.tuples(st.just("add"), st.integers(0, 15), st.integers(1, 99))  # minutes backdated, quantity
edit = st.tuples(st.just("edit"), st.integers(0, 10_000), st.integers(1, 99))  # which row, new quantity
drop = st.tuples(st.just("drop"), st.integers(0, 10_000))
restore = st.tuples(st.just("restore"), st.integers(0, 10_000), st.integers(1, 99))  # a dropped row back
advance = st.tuples(st.just("advance"), st.integers(1, 30))  # minutes
run = st.tuples(st.just("sync"), st.integers(1, 4))  # batch size
late = st.tuples(st.just("late"), st.integers(0, 10_000), st.integers(1, 99))  # which gap id, quantity


@dataclass
class Row:
    key: str | int
    changed_at: str  # naive local wall time, as the WMS stores it
    qty: int
    late: bool = False  # written at or below the stored cursor of its moment
    caught: bool = False  # late, and an overlap pass has run since


@dataclass
class History:
    """A WMS, a store and a source, driven step by step; `rows` is what the WMS holds now."""

    cursor: str
    folder: Path
    rows: dict = field(default_factory=dict)
    dropped: set = field(default_factory=set)
    staged_ever: set = field(default_factory=set)
    next_id: int = 1
    passed: list = field(default_factory=list)  # (time, stored line_key) after each sync, oldest first
    clock_from: int | None = None  # monotonic: the stored line_key at the first run that had one

    def __post_init__(self):
        self.clock, self.log = FixedClock(NOW), Log()
        self.wms = Wms(self.folder / "wms.db")
        self.store = Store.open(f"sqlite:///{self.folder / 'state.db'}", busy_timeout=5)
        fields = {"cursor": self.cursor, "lag_seconds": LAG, "overlap_seconds": OVERLAP,
                  "overlap_every_seconds": OVERLAP_EVERY}
        cls = registry.load("connector.sources", "sql")
        self.source = cls("wms", cls.Config.model_validate(source_settings(self.wms, **fields)), clock=self.clock)

    def close(self) -> None:
        self.source.close()
        self.store.close()

    def local_now(self, minutes_back: int = 0) -> str:
        moment = self.clock.now().astimezone(LOCAL) - timedelta(minutes=minutes_back)
        return moment.strftime("%Y-%m-%d %H:%M:%S")

    def stored_cursor(self) -> dict | None:
        with self.store.read() as conn:
            return sync.load_cursor(conn, "wms")

    def play(self, step: tuple) -> None:
        kind, *args = step
        if kind == "add":
            self.add(*args)
        elif kind == "edit" and self.rows:
            self.edit(*args)
        elif kind == "drop" and self.rows:
            self.drop(*args)
        elif kind == "restore" and self.dropped:
            self.restore(*args)
        elif kind == "late":
            self.late(*args)
        elif kind == "advance":
            self.clock.advance(minutes=args[0])
        elif kind == "sync":
            self.sync(args[0])

    def add(self, back: int, qty: int) -> None:
        key = self.next_id if self.cursor == "monotonic" else f"K{self.next_id:04d}"
        self.next_id += 1 + (back % 3 if self.cursor == "monotonic" else 0)  # gaps in a monotonic id
        row = Row(key, self.local_now(back), qty)
        row.late = self.at_or_below(row, self.stored_cursor())
        self.rows[key] = row
        self.wms.add(key, changed_at=row.changed_at, occurred_at=row.changed_at, qty=str(qty))

    def edit(self, pick: int, qty: int) -> None:
        """A WMS edit stamps the row with the time of the edit (Odoo's write_date)."""
        row = self.rows[sorted(self.rows, key=str)[pick % len(self.rows)]]
        row.qty, row.changed_at = qty, self.local_now()
        row.late, row.caught = self.at_or_below(row, self.stored_cursor()), False
        self.wms.update(row.key, qty=str(qty), changed_at=row.changed_at)

    def drop(self, pick: int) -> None:
        key = sorted(self.rows, key=str)[pick % len(self.rows)]
        del self.rows[key]
        self.dropped.add(key)
        self.wms.execute(f"DELETE FROM moves WHERE line_key = '{key}'")

    def restore(self, pick: int, qty: int) -> None:
        """A deleted line written again (an undo in the WMS): its vanished report must close."""
        key = sorted(self.dropped, key=str)[pick % len(self.dropped)]
        self.dropped.discard(key)
        self.rows[key] = Row(key, self.local_now(), qty)
        self.wms.add(key, changed_at=self.rows[key].changed_at, occurred_at=self.rows[key].changed_at, qty=str(qty))

    def late(self, pick: int, qty: int) -> None:
        """A gap id committed now, after the cursor passed it, if the overlap promises to read it:
        passed less than OVERLAP_EVERY ago, and above where the cursor stood when the clock started."""
        now, top = self.clock.now(), self.passed[-1][1] if self.passed else 0
        gaps = [i for i in range(1, top + 1) if i not in self.rows and self.clock_from is not None
                and i > self.clock_from and now - self.passed_at(i) < timedelta(seconds=OVERLAP_EVERY)]
        if not gaps:
            return
        row = Row(gaps[pick % len(gaps)], self.local_now(), qty, late=True)
        self.rows[row.key] = row
        self.wms.add(row.key, changed_at=row.changed_at, occurred_at=row.changed_at, qty=str(qty))

    def passed_at(self, key: int):
        return next(at for at, position in self.passed if position >= key)

    def at_or_below(self, row: Row, cursor: dict | None) -> bool:
        if cursor is None:
            return False
        if self.cursor == "monotonic":
            return row.key <= cursor["line_key"]
        return (row.changed_at, str(row.key)) <= (cursor["changed_at"], str(cursor["line_key"]))

    def sync(self, batch_size: int) -> None:
        before = self.stored_cursor()
        sync.sync_source(self.store, "wms", self.source, clock=self.clock, log=self.log, batch_size=batch_size)
        after = self.stored_cursor()
        if after is not None and self.cursor == "monotonic":
            self.passed.append((self.clock.now(), max([after["line_key"], *(p for _, p in self.passed[-1:])])))
            if self.clock_from is None and before is not None:  # the first run with a stored cursor
                self.clock_from = before["line_key"]
        self.check(before, after)

    def check(self, before: dict | None, after: dict | None) -> None:
        """Every row the strategy promises at this cursor is staged with its content."""
        if before and before.get("_overlap_at") is not None and after.get("_overlap_at") != before["_overlap_at"]:
            for row in self.rows.values():  # an overlap pass ran: every late row written before it is due
                row.caught = row.late
        latest = self.latest()
        self.staged_ever |= set(latest)
        for row in self.rows.values():
            if self.promised(row, after):
                assert latest.get(str(row.key)) == row.qty, (self.cursor, row, before, after)
        if self.cursor == "snapshot":
            assert self.vanished() == {str(k) for k in self.dropped} & self.staged_ever

    def promised(self, row: Row, after: dict | None) -> bool:
        if self.cursor == "snapshot" or row.caught:
            return True
        return not row.late and self.at_or_below(row, after)

    def settle(self) -> None:
        """Two runs, each past the lag and the overlap interval: everything must be staged by then."""
        for _ in range(2):  # the first run may only start the overlap clock
            self.clock.advance(seconds=LAG + OVERLAP_EVERY)
            self.sync(3)
        latest = self.latest()
        assert {k: latest.get(str(k)) for k in self.rows} == {k: r.qty for k, r in self.rows.items()}
        self.check_revisions()

    def latest(self) -> dict[str, int]:
        with self.store.read() as conn:
            found = conn.execute(select(movements.c.line_key, movements.c.revision, movements.c.qty)).all()
        best: dict[str, tuple[int, Decimal]] = {}
        for key, revision, qty in found:
            if revision > best.get(key, (0, None))[0]:
                best[key] = (revision, qty)
        return {key: int(qty) for key, (_, qty) in best.items()}

    def check_revisions(self) -> None:
        """Revisions 1..n per line, each one differing in content from the one before it."""
        with self.store.read() as conn:
            found = conn.execute(select(movements.c.line_key, movements.c.revision, movements.c.content_hash)
                                 .order_by(movements.c.line_key, movements.c.revision)).all()
        by_key: dict[str, list] = {}
        for key, revision, digest in found:
            by_key.setdefault(key, []).append((revision, digest))
        for key, revisions in by_key.items():
            assert [r for r, _ in revisions] == list(range(1, len(revisions) + 1)), key
            digests = [d for _, d in revisions]
            assert all(a != b for a, b in pairwise(digests)), key

    def vanished(self) -> set[str]:
        with self.store.read() as conn:
            return {r.ref for r in conn.execute(select(quarantine.c.ref).where(
                quarantine.c.reason == "movement_vanished", quarantine.c.resolved_at.is_(None)))}


def play_through(cursor: str, steps: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        history = History(cursor, Path(folder))
        try:
            for step in steps:
                history.play(step)
            history.settle()
        finally:
            history.close()


# A row committed 15 minutes late just after the overlap clock started; the cursor then moves on for
# an hour before the next pass, whose window (20 minutes) must start where the cursor stood at the
# clock's start, not where it stands then.
LATE_THEN_AN_HOUR = [("add", 0, 1), ("advance", 10), ("sync", 4), ("sync", 4), ("add", 15, 2), ("advance", 30),
                     ("add", 0, 3), ("advance", 25), ("sync", 4), ("advance", 5), ("sync", 4)]


@pytest.mark.timeout(300)
@PROPERTY
@example(steps=LATE_THEN_AN_HOUR)
@given(steps=st.lists(st.one_of(add, edit, advance, run), min_size=1, max_size=30))
def test_keyset_after_any_history_keeps_every_row_the_cursor_passed_and_late_rows_come_with_the_overlap(steps):
    play_through("keyset", steps)


# Id 3 is taken by a transaction that commits after the cursor passed id 4 (ids 2 and 4 committed
# first): the next overlap pass must read it.
GAP_COMMITTED_LAST = [("add", 0, 1), ("advance", 10), ("sync", 4), ("sync", 4), ("add", 1, 2), ("add", 0, 3),
                      ("advance", 10), ("sync", 4), ("late", 0, 5)]


@pytest.mark.timeout(300)
@PROPERTY
@example(steps=GAP_COMMITTED_LAST)
@given(steps=st.lists(st.one_of(add, late, advance, run), min_size=1, max_size=30))
def test_monotonic_after_any_history_keeps_every_id_the_cursor_passed_and_late_ids_come_with_the_overlap(steps):
    play_through("monotonic", steps)


@pytest.mark.timeout(300)
@PROPERTY
@given(steps=st.lists(st.one_of(add, edit, drop, restore, advance, run), min_size=1, max_size=30))
def test_snapshot_after_any_history_stages_every_row_and_reports_every_dropped_one_until_it_returns(steps):
    play_through("snapshot", steps)
