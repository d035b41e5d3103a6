"""The ledger stage: movement revisions -> ledger entries (append-only, reversals), quarantine by reason."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from connector import ledger, sync
from connector.mapping_file import load_mapping
from connector.model import Movement
from connector.store.tables import ledger_entries, movements, quarantine
from tests.support.wms import clock, item, log, store, write_mapping  # noqa: F401

AT = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)


def stage(store, clock, line_key="L1", **fields):  # noqa: F811
    values = dict(source="wms", line_key=line_key, sku="SKU-1", qty=Decimal(10), uom="EA",
                  movement_type="receipt", doc_ref="ASN-1", occurred_at=AT, changed_at=AT)
    values.update(fields)
    with store.begin() as conn:
        return sync.stage_movements(conn, "wms", [Movement(**values)], clock.now())


def post(store, mapping, clock, log, **kw):  # noqa: F811
    return ledger.post_source(store, "wms", mapping, clock=clock, log=log, **kw)


def entries(store):  # noqa: F811
    with store.read() as conn:
        return list(conn.execute(select(ledger_entries).order_by(ledger_entries.c.id)))


def balance(store, line_key="L1"):  # noqa: F811
    with store.read() as conn:
        return conn.execute(select(ledger_entries.c.dcl_qty).where(ledger_entries.c.line_key == line_key)).scalars().all()


def states(store):  # noqa: F811
    with store.read() as conn:
        return [(r.line_key, r.revision, r.ledger_state, r.mapping_version) for r in
                conn.execute(select(movements).order_by(movements.c.id))]


def quarantined(store):  # noqa: F811
    with store.read() as conn:
        return [(r.ref, r.reason, r.resolved_at) for r in conn.execute(
            select(quarantine).where(quarantine.c.stage == "mapping").order_by(quarantine.c.id))]


def test_post_source_posts_entry_with_mapping_version_and_revision(store, clock, log, tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml"))
    stage(store, clock, qty=Decimal(2), uom="CS")
    assert post(store, mapping, clock, log) == {"posted": 1, "quarantined_by_reason": {}}
    [entry] = entries(store)
    assert (entry.source, entry.line_key, entry.revision, entry.mapping_version) == ("wms", "L1", 1, mapping.version)
    assert (entry.bws_no, entry.gds_seqno, entry.gds_mtno, entry.direction, entry.action) == (
        "T2345W000001", 1, "MT-1", "I", "increase")
    assert (entry.dcl_qty, entry.lawf_qty, entry.dcl_unitcd) == (Decimal(24), Decimal(24), "007")
    assert (entry.doc_ref, entry.needs_list, entry.occurred_at, entry.reverses_id) == ("ASN-1", True, AT, None)
    assert states(store) == [("L1", 1, "posted", mapping.version)]


def test_post_source_second_run_posts_nothing_again(store, clock, log, tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml"))
    stage(store, clock)
    post(store, mapping, clock, log)
    assert post(store, mapping, clock, log) == {"quarantined_by_reason": {}}
    assert len(entries(store)) == 1


def test_post_source_revised_movement_reverses_old_entry_and_posts_new(store, clock, log, tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml"))
    stage(store, clock, qty=Decimal(10))
    post(store, mapping, clock, log)
    stage(store, clock, qty=Decimal(12))
    post(store, mapping, clock, log)
    first, reversal, second = entries(store)
    assert (first.revision, first.dcl_qty) == (1, Decimal(10))
    assert (reversal.action, reversal.reverses_id, reversal.dcl_qty, reversal.lawf_qty) == (
        "reversal", first.id, Decimal(-10), Decimal(-10))
    assert (second.revision, second.dcl_qty, second.reverses_id) == (2, Decimal(12), None)
    assert sum(balance(store)) == Decimal(12)


def test_post_source_three_revisions_leave_only_the_latest_live(store, clock, log, tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml"))
    for qty in (10, 12, 7):
        stage(store, clock, qty=Decimal(qty))
        post(store, mapping, clock, log)
    assert sum(balance(store)) == Decimal(7)
    assert len(entries(store)) == 5  # 3 postings, 2 reversals


def test_post_source_revision_that_fails_mapping_reverses_the_old_entry(store, clock, log, tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml"))
    stage(store, clock)
    post(store, mapping, clock, log)
    stage(store, clock, sku="SKU-404")
    post(store, mapping, clock, log)
    assert sum(balance(store)) == 0
    assert [q[:2] for q in quarantined(store)] == [("L1", "unmapped_sku")]


def test_post_source_unmapped_sku_is_quarantined_then_posted_after_mapping_fix(store, clock, log, tmp_path):
    path = write_mapping(tmp_path / "items.toml")
    old = load_mapping(path)
    stage(store, clock, sku="SKU-2")
    counts = post(store, old, clock, log)
    assert counts == {"quarantined": 1, "quarantined_by_reason": {"unmapped_sku": 1}}
    assert entries(store) == []
    assert quarantined(store) == [("L1", "unmapped_sku", None)]
    assert ("warning", "movements_quarantined", {"source": "wms", "reason": "unmapped_sku", "rows": 1}) in log.events

    write_mapping(path, items=[item(), item(sku="SKU-2", gds_seqno=2, gds_mtno="MT-2")])
    new = load_mapping(path)
    assert new.version != old.version
    clock.advance(hours=1)
    assert post(store, new, clock, log) == {"posted": 1, "quarantined_by_reason": {}}
    [entry] = entries(store)
    assert (entry.gds_seqno, entry.mapping_version) == (2, new.version)
    assert quarantined(store) == [("L1", "unmapped_sku", clock.now())]
    assert states(store) == [("L1", 1, "posted", new.version)]


def test_post_source_quarantined_movement_is_not_retried_under_same_mapping_version(store, clock, log, tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml"))
    stage(store, clock, sku="SKU-2")
    post(store, mapping, clock, log)
    assert post(store, mapping, clock, log) == {"quarantined_by_reason": {}}
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(quarantine)).scalar() == 1


def test_post_source_transfer_with_action_none_is_ignored(store, clock, log, tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml"))
    stage(store, clock, movement_type="transfer", sku="SKU-404")
    assert post(store, mapping, clock, log) == {"ignored": 1, "quarantined_by_reason": {}}
    assert entries(store) == []
    assert quarantined(store) == []
    assert states(store) == [("L1", 1, "ignored", mapping.version)]


def test_post_source_receipt_revised_into_transfer_reverses_the_entry(store, clock, log, tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml"))
    stage(store, clock)
    post(store, mapping, clock, log)
    stage(store, clock, movement_type="transfer")
    post(store, mapping, clock, log)
    assert sum(balance(store)) == 0


def test_post_source_bad_rows_get_their_own_reasons(store, clock, log, tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml"))
    stage(store, clock, "L1", sku=None)
    stage(store, clock, "L2", movement_type="teleport")
    stage(store, clock, "L3", qty=Decimal(-1))
    stage(store, clock, "L4", uom="千克")
    stage(store, clock, "L5", qty=Decimal("0.000001"))
    counts = post(store, mapping, clock, log)
    assert counts["quarantined_by_reason"] == {"sku_missing": 1, "unknown_movement_type": 1, "negative_qty": 1,
                                               "unit_unconvertible": 1, "precision_exceeded": 1}
    assert [q[:2] for q in quarantined(store)] == [
        ("L1", "sku_missing"), ("L2", "unknown_movement_type"), ("L3", "negative_qty"),
        ("L4", "unit_unconvertible"), ("L5", "precision_exceeded")]


def test_post_source_processes_more_rows_than_one_batch(store, clock, log, tmp_path):
    mapping = load_mapping(write_mapping(tmp_path / "items.toml"))
    for n in range(7):
        stage(store, clock, f"L{n}")
    assert post(store, mapping, clock, log, batch_size=3)["posted"] == 7
    assert len(entries(store)) == 7


def test_post_source_after_mapping_change_does_not_repost_superseded_revision(store, clock, log, tmp_path):
    path = write_mapping(tmp_path / "items.toml")
    old = load_mapping(path)
    stage(store, clock, sku="SKU-TYPO")  # revision 1: quarantined
    post(store, old, clock, log)
    stage(store, clock, qty=Decimal(12))  # revision 2: SKU fixed in the WMS, posted
    post(store, old, clock, log)
    assert sum(balance(store)) == Decimal(12)

    write_mapping(path, items=[item(), item(sku="SKU-3", gds_seqno=3)])  # unrelated edit: new version
    post(store, load_mapping(path), clock, log)
    assert sum(balance(store)) == Decimal(12)
    assert [q[:2] for q in quarantined(store) if q[2] is None] == []
