"""C9 write-off in the engine: period sums kept per ledger line, the identity checked against customs'
EMS221 approval on both sides, and the 60-day filing warning opening in a tick as the clock passes it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from connector.compare.engine import compare
from connector.compare.periods_report import period_start, report
from connector.config.schema import CompareSection
from connector.store.tables import discrepancies
from connector.store.tables_compare_periods import compare_periods
from tests.compare.wms_world import WmsWorld
from tests.support.wms import log  # noqa: F401

MONTHLY = CompareSection(writeoff_period_months=1, writeoff_since=date(2025, 1, 1))
FEB, MAR = datetime(2025, 2, 10, tzinfo=UTC), datetime(2025, 3, 5, tzinfo=UTC)


@pytest.fixture
def world(tmp_path, log):  # noqa: F811
    w = WmsWorld(tmp_path, log)
    w.ship(line_key="R1", qty="10", vehicle=None, at=FEB, movement_type="receipt")
    w.ship(line_key="S1", qty="3", vehicle=None, at=FEB + timedelta(days=1))
    w.ship(line_key="R2", qty="4", vehicle=None, at=MAR, movement_type="receipt")
    yield w
    w.store.close()


def open_kinds(world) -> dict[str, list]:
    with world.store.read() as conn:
        rows = conn.execute(select(discrepancies).where(discrepancies.c.status == "open")).all()
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(r.kind, []).append(r)
    return out


def stored_periods(world) -> list:
    with world.store.read() as conn:
        return sorted(tuple(r) for r in conn.execute(select(compare_periods)))


def test_period_figures_chain_opening_to_closing_in_filing_words(world):
    world.compare(settings=MONTHLY)
    with world.store.read() as conn:
        rows = report(conn, MONTHLY)
    feb, mar = rows
    assert (feb["period_start"], feb["wms_opening"], feb["wms_in"], feb["wms_out"], feb["actlRemainQty"]) == (
        "2025-02-01", "0", "10", "3", "7")
    assert (mar["period_start"], mar["wms_opening"], mar["actlRemainQty"], mar["filing_due"]) == (
        "2025-03-01", "7", "11", "2025-05-31")
    assert (feb["shdRemainQty"], feb["dsmlQty"], feb["filed"]) == (None, None, False)


def test_ticks_add_to_the_period_sums_exactly_as_a_rebuild_computes_them(world):
    world.compare(settings=MONTHLY)
    world.ship(line_key="R1", qty="12", vehicle=None, at=FEB, movement_type="receipt")  # a revision: -10 +12
    world.ship(line_key="R3", qty="1", vehicle=None, at=MAR, movement_type="receipt")
    world.compare(settings=MONTHLY)
    ticked = stored_periods(world)
    counts = compare(world.store, MONTHLY, routes={}, site="s", clock=world.clock, log=world.log, rebuild=True)
    assert stored_periods(world) == ticked and (counts["opened"], counts["updated"], counts["resolved"]) == (0, 0, 0)
    with world.store.read() as conn:
        assert [r["actlRemainQty"] for r in report(conn, MONTHLY)] == ["9", "14"]


def test_filing_warning_opens_in_a_tick_when_the_clock_passes_it_and_an_approval_resolves_it(world):
    world.compare(settings=MONTHLY)  # NOW 2025-03-10: February's filing due 04-30 (60 days), warning from 04-16
    assert "writeoff_due" not in open_kinds(world)
    world.clock.advance(days=40)
    world.compare(settings=MONTHLY)
    [due] = open_kinds(world)["writeoff_due"]
    assert (due.ledger_no, due.details["period_start"], due.details["filing_due"]) == (
        "T2345W000001", "2025-02-01", "2025-04-30T00:00:00+08:00")
    world.approve_writeoff(begin=FEB, lines=[(1, "0", "10", "3", "7", "7")], at=world.clock.now())
    world.compare(settings=MONTHLY)
    assert "writeoff_due" not in open_kinds(world) and "writeoff_imbalance" not in open_kinds(world)


def test_approval_whose_figures_do_not_add_up_gives_imbalance_on_each_side(world):
    world.approve_writeoff(begin=FEB, lines=[(1, "0", "10", "3", "6", "8")])  # 0+10-3 != 6; WMS closing 7 != 8
    world.compare(settings=MONTHLY)
    sides = {d.details["side"]: d for d in open_kinds(world)["writeoff_imbalance"]}
    assert (sides["ledger"].expected_qty, sides["ledger"].actual_qty, sides["ledger"].delta_qty) == (
        Decimal(7), Decimal(6), Decimal(-1))
    assert (sides["wms"].expected_qty, sides["wms"].actual_qty) == (Decimal(7), Decimal(8))
    assert sides["wms"].details["dsmlQty"] == "2" and sides["wms"].details["vrfaddQty"] == "10"
    world.approve_writeoff(tms=2, begin=FEB, lines=[(1, "0", "10", "3", "7", "7")])  # 补充申报 corrects it
    world.compare(settings=MONTHLY)
    assert "writeoff_imbalance" not in open_kinds(world)


def test_without_writeoff_since_no_filing_warning_but_figures_are_kept(world):
    world.clock.advance(days=400)
    world.compare(settings=CompareSection(writeoff_period_months=1))
    assert "writeoff_due" not in open_kinds(world) and len(stored_periods(world)) == 2


def test_period_option_picks_the_period_holding_the_day():
    yearly = CompareSection(writeoff_period_start="04-01")
    assert period_start("2025-03", yearly) == "2024-04-01" and period_start("2025-04-02", yearly) == "2025-04-01"
    assert period_start("2025-03", CompareSection(writeoff_period_months=1)) == "2025-03-01"

