"""C7 分类监管 conversions on a real SQLite store: mapped conversion types post `conversion_out` /
`conversion_in` entries, the engine finds them in ticks and in a rebuild alike, and `discrepancies show`
explains them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from connector.compare import load_conversion, screen
from connector.compare.explain import explain
from connector.compare.history import picture
from connector.config.schema import CompareSection
from connector.mapping_file import load_mapping
from connector.store.tables import bond_invt_heads, discrepancies, ledger_entries
from tests.compare.test_engine import LONG_AGO, NOW
from tests.compare.test_engine_wms import found, rebuild_changes_nothing
from tests.compare.wms_world import WmsWorld
from tests.support.wms import MOVEMENT_TYPES, log, write_mapping  # noqa: F401

S = CompareSection()
CONVERSIONS = {**MOVEMENT_TYPES, "to_nb": {"action": "decrease", "direction": "E", "conversion": "to_non_bonded"},
               "to_b": {"action": "increase", "direction": "I", "conversion": "to_bonded"}}


@pytest.fixture
def world(tmp_path, log):  # noqa: F811
    w = WmsWorld(tmp_path, log)
    w.mapping = load_mapping(write_mapping(tmp_path / "conv.toml", movement_types=CONVERSIONS))
    yield w
    w.store.close()


def book(world, no="QD1", mark="1", at=LONG_AGO):
    """A receipt booking the list into the ledger (vrfdedMarkcd 1 预核扣, 2 已核扣)."""
    with world.store.begin() as conn:
        rid = world.receipt(conn, f"{no}-{mark}.xml", "INV201", at)
        conn.execute(bond_invt_heads.update().where(bond_invt_heads.c.bond_invt_no == no)
                     .values(vrfded_markcd=mark, receipt_id=rid, updated_at=at))


def unbooked(world) -> list:
    return [d for d in found(world).get("conversion_unbooked", [])]


def test_conversion_type_posts_a_conversion_entry_with_the_plain_sign_and_direction(world):
    world.move(line_key="C1", qty="4", doc_ref="CV-1", movement_type="to_nb")
    world.move(line_key="C2", qty="3", doc_ref="CV-2", movement_type="to_b")
    with world.store.read() as conn:
        rows = conn.execute(select(ledger_entries.c.action, ledger_entries.c.direction, ledger_entries.c.dcl_qty,
                                   ledger_entries.c.needs_list).order_by(ledger_entries.c.id)).all()
    assert [tuple(r) for r in rows] == [("conversion_out", "E", Decimal(-4), True),
                                        ("conversion_in", "I", Decimal(3), True)]


def test_conversion_without_a_list_opens_conversion_unbooked_beside_missing_list(world):
    world.move(line_key="C1", qty="4", doc_ref="CV-1", movement_type="to_nb")
    world.compare(settings=S)
    [d] = unbooked(world)
    assert (d.unit_key, d.details["reason"], d.actual_qty, d.evidence) == (
        "conv|CV-1", "no_list", Decimal(-4), ["movement:wms:C1#1"])
    assert "missing_list" in found(world)  # C2 says the movement has no list; C7 that the ledger lacks it
    assert rebuild_changes_nothing(world, S)


def test_list_booked_in_a_later_tick_resolves_the_conversion(world):
    world.move(line_key="C1", qty="4", doc_ref="CV-1", movement_type="to_nb")
    world.declare(no="QD1", doc_ref="CV-1", qty="4", io="E")
    world.compare(settings=S)
    assert unbooked(world)[0].details["reason"] == "not_booked"
    book(world, "QD1", "2")
    world.compare(settings=S)
    assert unbooked(world) == [] and len(found(world, "resolved")["conversion_unbooked"]) == 1
    assert rebuild_changes_nothing(world, S)


def test_list_moved_to_another_document_reopens_the_conversion_in_a_tick(world):
    world.move(line_key="C1", qty="4", doc_ref="CV-1", movement_type="to_b")
    world.declare(no="QD1", doc_ref="CV-1", qty="4", io="I")
    book(world, "QD1", "1")
    world.compare(settings=S)
    assert unbooked(world) == []
    world.declare(no="QD1", doc_ref="CV-9", qty="4", io="I")  # re-sent naming another document
    world.compare(settings=S)
    assert [d.details["reason"] for d in unbooked(world)] == ["no_list"]
    assert rebuild_changes_nothing(world, S)


def test_conversion_revised_to_a_plain_issue_resolves_in_a_tick(world):
    world.move(line_key="C1", qty="4", doc_ref=None, movement_type="to_nb")
    world.compare(settings=S)
    assert [d.unit_key for d in unbooked(world)] == ["convm|MT-1"]
    world.move(line_key="C1", qty="4", doc_ref=None, movement_type="issue")
    world.compare(settings=S)
    assert unbooked(world) == []
    assert rebuild_changes_nothing(world, S)


def test_recent_conversion_is_in_flight_until_the_window_ends(world):
    world.move(line_key="C1", qty="4", doc_ref="CV-1", movement_type="to_nb", at=NOW - timedelta(hours=1))
    assert world.compare(settings=S)["in_flight"] >= 1 and unbooked(world) == []
    world.clock.advance(hours=72)
    world.compare(settings=S)
    assert [d.details["reason"] for d in unbooked(world)] == ["no_list"]


def test_discrepancies_show_explains_the_conversion_in_customs_words(world):
    world.move(line_key="C1", qty="4", doc_ref="CV-1", movement_type="to_nb")
    world.declare(no="QD1", doc_ref="CV-1", qty="4", io="I")
    book(world, "QD1", "2")
    world.compare(settings=S)
    [d] = unbooked(world)
    with world.store.read() as conn:
        row = conn.execute(select(discrepancies).where(discrepancies.c.id == d.id)).one()
        text = explain(conn, row, ZoneInfo("Asia/Shanghai"))
    assert "分类监管转换未核增/核减 (conversion_unbooked)" in text
    assert "保税转非保 (bonded to non-bonded)" in text and "进出方向不符" in text
    assert "核注清单 list line QD1/1" in text and "WMS 出入库 movement revision wms:C1#1" in text


def test_picture_as_of_reads_only_the_conversions_known_then(world):
    world.move(line_key="C1", qty="4", doc_ref="CV-1", movement_type="to_nb")  # posted at NOW
    before = picture(world.store, S, NOW - timedelta(days=1))["discrepancies"]
    after = picture(world.store, S, NOW + timedelta(hours=1))["discrepancies"]
    assert [d["kind"] for d in before if d["kind"] == "conversion_unbooked"] == []
    [d] = [d for d in after if d["kind"] == "conversion_unbooked"]
    assert (d["details"]["reason"], d["evidence"]) == ("no_list", ["movement:wms:C1#1"])


def test_conversions_without_a_document_share_a_unit_per_item_but_are_found_per_line(world):
    source_line = "C" * 200  # a unit key by source and line would outgrow unit_key's 300 characters
    world.move(line_key=source_line, qty="4", doc_ref=None, movement_type="to_nb")
    world.move(line_key="C2", qty="1", doc_ref=None, movement_type="to_b")
    world.compare(settings=S)
    rows = sorted(unbooked(world), key=lambda d: d.details["wms_qty"])
    assert [(d.unit_key, d.details["wms_lines"]) for d in rows] == [
        ("convm|MT-1", ["wms:C2"]), ("convm|MT-1", [f"wms:{source_line}"])]
    assert rebuild_changes_nothing(world, S)


def test_document_reference_starting_with_a_tilde_is_still_a_document(world):
    world.move(line_key="C1", qty="4", doc_ref="~CV-1", movement_type="to_nb")
    world.declare(no="QD1", doc_ref="~CV-1", qty="4", io="E")
    book(world, "QD1", "2")
    world.compare(settings=S)
    assert unbooked(world) == []
    assert rebuild_changes_nothing(world, S)


@pytest.mark.parametrize("in_children", [False, True])
def test_rebuild_reads_the_conversions_through_the_query_queue_as_the_scan_finds_them(world, monkeypatch,
                                                                                   in_children):
    monkeypatch.setattr(screen, "CHILD_MIN_BYTES", 0 if in_children else screen.CHILD_MIN_BYTES)
    world.move(line_key="C1", qty="4", doc_ref="CV-1", movement_type="to_nb")
    world.move(line_key="C1", qty="3", doc_ref="CV-1", movement_type="to_nb")  # revised: a reversal and a new entry
    world.move(line_key="C2", qty="2", doc_ref=None, movement_type="to_b")
    world.compare(settings=S)
    with world.store.begin() as conn:
        scanned = load_conversion.conversions(conn, None, None)
        load_conversion.prefetch(conn)
        assert load_conversion.PREFETCHED in conn.info
        assert load_conversion.conversions(conn, None, None) == scanned and len(scanned) == 2
        assert load_conversion.PREFETCHED not in conn.info  # taken once
        screen.release(conn)
    assert rebuild_changes_nothing(world, S) and len(unbooked(world)) == 2
