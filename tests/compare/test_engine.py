"""The comparator engine on a real store: life cycle, versions, outbox rows in the same transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from connector import ledger, sync
from connector.clock import FixedClock
from connector.compare.engine import compare
from connector.compare.rules import discrepancy_id
from connector.config.schema import CompareSection
from connector.mapping_file import load_mapping
from connector.model import Movement
from connector.store.engine import Store
from connector.store.tables import (
    bond_invt_heads,
    bond_invt_lines,
    discrepancies,
    ledger_lines,
    outbox,
    receipts,
)
from tests.support.wms import log, write_mapping  # noqa: F401

NOW = datetime(2025, 3, 10, 4, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=10)
ROUTES = {"push": ["discrepancy.*"], "alerts": ["discrepancy.opened"], "files": ["quarantine.*"]}
MISSING = discrepancy_id("missing_list", "ASN-1", "MT-1")
MISMATCH = discrepancy_id("quantity_mismatch", "ASN-1", "MT-1")


class World:
    """A state store with a mapping, and helpers to put WMS movements and declarations into it."""

    def __init__(self, folder: Path, log):  # noqa: F811
        self.store = Store.open(f"sqlite:///{folder / 'state.db'}", busy_timeout=5)
        self.store_folder = folder
        self.mapping = load_mapping(write_mapping(folder / "items.toml"))
        self.clock = FixedClock(NOW)
        self.log = log
        self.files = 0

    def receipt(self, conn, file_name, message_type, at) -> int:
        self.files += 1
        return conn.execute(receipts.insert().values(
            source="inbox", file_name=file_name, sha256=f"{self.files:064x}", message_type=message_type,
            received_at=at)).inserted_primary_key[0]

    def move(self, line_key="L1", qty="10", doc_ref="ASN-1", at=LONG_AGO, movement_type="receipt", sku="SKU-1"):
        m = Movement(source="wms", line_key=line_key, sku=sku, qty=Decimal(qty), uom="EA",
                     movement_type=movement_type, doc_ref=doc_ref, occurred_at=at, changed_at=at)
        with self.store.begin() as conn:
            sync.stage_movements(conn, "wms", [m], self.clock.now())
        ledger.post_source(self.store, "wms", self.mapping, clock=self.clock, log=self.log)

    def declare(self, no="QD1", doc_ref="ASN-1", qty="10", io="I", stucd="0", at=LONG_AGO, mtno="MT-1"):
        with self.store.begin() as conn:
            rid = self.receipt(conn, f"{no}.xml", "INV201", at)
            conn.execute(bond_invt_heads.delete().where(bond_invt_heads.c.bond_invt_no == no))
            conn.execute(bond_invt_lines.delete().where(bond_invt_lines.c.bond_invt_no == no))
            conn.execute(bond_invt_heads.insert().values(
                bond_invt_no=no, etps_inner_invt_no=doc_ref, impexp_markcd=io, putrec_no="T2345W000001",
                invt_stucd=stucd, invt_dcl_time=at, receipt_id=rid, updated_at=at))
            conn.execute(bond_invt_lines.insert().values(
                bond_invt_no=no, gds_seqno=1, putrec_seqno=1, gds_mtno=mtno, dcl_unitcd="007",
                dcl_qty=Decimal(qty), receipt_id=rid))

    def ledger_line(self, inc="100", redc="20", at=LONG_AGO):
        with self.store.begin() as conn:
            rid = self.receipt(conn, "bws.xml", "INV211", at)
            conn.execute(ledger_lines.delete())
            conn.execute(ledger_lines.insert().values(
                bws_no="T2345W000001", gds_seqno=1, gds_mtno="MT-1", dcl_unitcd="007", in_qty=Decimal(0),
                actl_inc_qty=Decimal(inc), actl_redc_qty=Decimal(redc), prevd_inc_qty=Decimal(0),
                prevd_redc_qty=Decimal(0), as_of=at, receipt_id=rid, updated_at=at))

    def compare(self, routes=ROUTES, settings=CompareSection()):
        return compare(self.store, settings, routes=routes, site="zone-1", clock=self.clock, log=self.log)

    def discrepancy(self, did):
        with self.store.read() as conn:
            return conn.execute(select(discrepancies).where(discrepancies.c.id == did)).one()

    def discrepancy_ids(self):
        with self.store.read() as conn:
            return set(conn.execute(select(discrepancies.c.id)).scalars())

    def outbox(self):
        with self.store.read() as conn:
            return list(conn.execute(select(outbox).order_by(outbox.c.created_at, outbox.c.sink)))

    def events(self):
        return sorted((r.sink, r.event) for r in self.outbox())


@pytest.fixture
def world(tmp_path, log):  # noqa: F811
    w = World(tmp_path, log)
    yield w
    w.store.close()


def counts(opened=0, updated=0, resolved=0, unchanged=0, in_flight=0):
    return {"opened": opened, "updated": updated, "resolved": resolved, "unchanged": unchanged,
            "in_flight": in_flight}


def test_compare_new_finding_opens_discrepancy_and_queues_one_row_per_matching_route(world):
    world.move()
    assert world.compare() == counts(opened=1)
    row = world.discrepancy(MISSING)
    assert (row.kind, row.status, row.version, row.first_seen, row.last_seen) == (
        "missing_list", "open", 1, NOW, NOW)
    assert world.events() == [("alerts", "discrepancy.opened"), ("push", "discrepancy.opened")]
    for message in world.outbox():
        body = json.loads(message.body)
        assert (message.discrepancy_id, message.status) == (MISSING, "pending")
        assert body["site"] == "zone-1"
        assert (body["discrepancy"]["id"], body["discrepancy"]["version"]) == (MISSING, 1)


def test_compare_unchanged_rerun_queues_nothing_and_keeps_version(world):
    world.move()
    world.compare()
    world.clock.advance(hours=1)
    assert world.compare() == counts(unchanged=1)
    row = world.discrepancy(MISSING)
    assert (row.version, row.last_seen) == (1, NOW + timedelta(hours=1))
    assert len(world.outbox()) == 2


def test_compare_changed_finding_bumps_version_and_queues_update(world):
    world.move(qty="10")
    world.declare(qty="8")
    world.compare()
    world.declare(qty="7")
    world.clock.advance(hours=1)
    assert world.compare() == counts(updated=1)
    row = world.discrepancy(MISMATCH)
    assert (row.status, row.version, row.delta_qty) == ("open", 2, Decimal(3))
    assert world.events() == [("alerts", "discrepancy.opened"), ("push", "discrepancy.opened"),
                              ("push", "discrepancy.updated")]


def test_compare_finding_that_catches_up_is_resolved_and_queued(world):
    world.move(qty="10")
    world.declare(qty="8")
    world.compare()
    world.declare(qty="10")
    world.clock.advance(hours=1)
    assert world.compare() == counts(resolved=1)
    row = world.discrepancy(MISMATCH)
    assert (row.status, row.version, row.resolved_at) == ("resolved", 2, NOW + timedelta(hours=1))
    assert ("push", "discrepancy.resolved") in world.events()
    assert ("alerts", "discrepancy.resolved") not in world.events()


def test_compare_resolved_finding_found_again_is_reopened_with_new_version(world):
    world.move(qty="10")
    world.declare(qty="8")
    world.compare()
    world.declare(qty="10")
    world.compare()
    world.declare(qty="9")
    world.clock.advance(hours=2)
    assert world.compare() == counts(opened=1)
    row = world.discrepancy(MISMATCH)
    assert (row.status, row.version, row.resolved_at) == ("open", 3, None)
    assert [e for e in world.events() if e[1] == "discrepancy.opened"] == [
        ("alerts", "discrepancy.opened"), ("alerts", "discrepancy.opened"),
        ("push", "discrepancy.opened"), ("push", "discrepancy.opened")]
    assert len({m.id for m in world.outbox()}) == len(world.outbox())


def test_compare_resolved_rerun_queues_nothing_more(world):
    world.move(qty="10")
    world.declare(qty="8")
    world.compare()
    world.declare(qty="10")
    world.compare()
    before = len(world.outbox())
    assert world.compare() == counts()
    assert len(world.outbox()) == before


def test_compare_recent_finding_is_in_flight_not_reported(world):
    world.move(at=NOW - timedelta(hours=1))
    assert world.compare() == counts(in_flight=1)
    assert world.discrepancy_ids() == set()
    assert world.outbox() == []


def test_compare_open_finding_back_in_grace_is_not_resolved(world):
    world.move()
    world.compare()
    world.move(line_key="L2", qty="1", at=NOW - timedelta(hours=1))  # same document, moved again just now
    assert world.compare() == counts(in_flight=1)
    row = world.discrepancy(MISSING)
    assert (row.status, row.version) == ("open", 1)
    assert len(world.outbox()) == 2


def test_compare_writes_discrepancy_and_outbox_in_one_transaction(world):
    world.move()
    with world.store.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER no_outbox BEFORE INSERT ON outbox "
                             "BEGIN SELECT RAISE(ABORT, 'outbox write failed'); END")
    with pytest.raises(IntegrityError, match="outbox write failed"):
        world.compare()
    assert world.discrepancy_ids() == set()
    with world.store.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER no_outbox")
    assert world.compare() == counts(opened=1)
    assert len(world.outbox()) == 2


def test_compare_without_routes_records_discrepancy_and_queues_nothing(world):
    world.move()
    assert world.compare(routes={}) == counts(opened=1)
    assert world.outbox() == []


def test_compare_movement_without_doc_ref_is_missing_list(world):
    world.move(doc_ref=None)
    world.compare()
    [did] = world.discrepancy_ids()
    row = world.discrepancy(did)
    assert (row.kind, row.doc_refs) == ("missing_list", [])


def test_compare_voided_list_without_movement_is_ignored(world):
    world.declare(no="QD9", doc_ref="ASN-9", stucd="3")
    assert world.compare() == counts()


def test_compare_list_without_movement_is_reported(world):
    world.declare(no="QD9", doc_ref="ASN-9", qty="4")
    world.compare()
    row = world.discrepancy(discrepancy_id("list_without_movement", "ASN-9", "MT-1"))
    assert (row.expected_qty, row.actual_qty, row.doc_refs) == (Decimal(4), Decimal(0), ["ASN-9", "QD9"])


def test_compare_balance_mismatch_against_ledger_line(world):
    world.move(qty="78")
    world.declare(qty="78")
    world.ledger_line(inc="100", redc="20")
    assert world.compare() == counts(opened=1)
    row = world.discrepancy(discrepancy_id("balance_mismatch", "T2345W000001", 1))
    assert (row.expected_qty, row.actual_qty, row.delta_qty) == (Decimal(80), Decimal(78), Decimal(-2))
    assert (row.details["shdRemainQty"], row.details["dsmlQty"], row.details["dsmlRate"]) == ("80", "-2", "-0.02500")


def test_compare_balance_equal_to_ledger_line_gives_nothing(world):
    world.move(qty="80")
    world.declare(qty="80")
    world.ledger_line(inc="100", redc="20")
    assert world.compare() == counts()


def test_compare_same_inputs_in_two_stores_give_same_ids(world, tmp_path, log):  # noqa: F811
    (tmp_path / "again").mkdir()
    again = World(tmp_path / "again", log)
    try:
        for w in (world, again):
            w.move(line_key="L1", qty="10")
            w.move(line_key="L2", doc_ref="ASN-2", qty="3")
            w.declare(no="QD2", doc_ref="ASN-2", qty="2")
            w.declare(no="QD9", doc_ref="ASN-9", qty="4")
            w.compare()
        assert len(world.discrepancy_ids()) == 3
        assert world.discrepancy_ids() == again.discrepancy_ids()
    finally:
        again.store.close()


def test_compare_revised_movement_updates_the_existing_discrepancy(world):
    world.move(qty="10")
    world.compare()
    world.move(qty="12")  # WMS line edited: revision 2, reversal + new entry
    assert world.compare() == counts(updated=1)
    row = world.discrepancy(MISSING)
    assert (row.version, row.actual_qty) == (2, Decimal(12))
    with world.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(discrepancies)).scalar() == 1


def test_compare_newer_ledger_snapshot_with_same_quantities_queues_nothing(world):
    world.move(qty="78")
    world.declare(qty="78")
    world.ledger_line(inc="100", redc="20", at=LONG_AGO)
    world.compare()
    world.ledger_line(inc="100", redc="20", at=LONG_AGO + timedelta(days=1))  # same numbers, later snapshot
    assert world.compare() == counts(unchanged=1)
    assert world.events() == [("alerts", "discrepancy.opened"), ("push", "discrepancy.opened")]


def test_driver_conversion_converts_each_distinct_value_once_and_still_refuses_non_decimals():
    from sqlalchemy.dialects import sqlite

    from connector.compare.engine import _to_driver
    from connector.store.types import AwareDateTime, DecimalText

    qty = _to_driver(DecimalText(), sqlite.dialect())
    assert [qty(Decimal("1.0")), qty(Decimal(1)), qty(Decimal("-0")), qty(None)] == ["1", "1", "0", None]
    with pytest.raises(TypeError):
        qty(1)  # equal to Decimal(1), but not a Decimal: refused as before
    at = _to_driver(AwareDateTime(), sqlite.dialect())
    assert at(NOW) == at(NOW) == NOW.isoformat(timespec="microseconds")


def test_new_discrepancies_inserted_as_driver_values_read_back_as_the_table_types_write_them(tmp_path):
    from connector.compare import engine, lifecycle
    from connector.model import Discrepancy

    found = [Discrepancy("b" * 32, "quantity_mismatch", "T2345W000001", 3, "MT-1", ("ASN-1", "QD1"), Decimal("2.50"),
                         Decimal(1), Decimal("-1.5"), "007", {"impexpMarkcd": "I", "wms_lines": ["wms:L1"],
                                                                 "note": "核注清单 \"1\"", "evidence": ["list:QD1/1"]}),
             Discrepancy("a" * 32, "list_without_movement", None, None, None, (), None, Decimal("-0"), None, None,
                         {"declared_at": NOW.isoformat()})]
    stored = {}
    for name in ("driver", "types"):
        store = Store.open(f"sqlite:///{tmp_path / f'{name}.db'}")
        with store.begin() as conn:
            if name == "driver":  # the rebuild's path, in id order
                engine._insert(conn, [(d, f"doc|{d.id}") for d in found], NOW)
            else:  # what SQLAlchemy binds through the column types
                conn.execute(discrepancies.insert(), [lifecycle.new_row(d, f"doc|{d.id}", NOW) for d in found])
            stored[name] = conn.exec_driver_sql("SELECT * FROM discrepancies ORDER BY id").all()
        store.close()
    assert stored["driver"] == stored["types"]
    row = stored["driver"][1]
    stamp = NOW.isoformat(timespec="microseconds")
    assert (row.id, row.status, row.version, row.first_seen, row.last_seen, row.resolved_at, row.acked_at) == \
        ("b" * 32, "open", 1, stamp, stamp, None, None)
    assert (row.expected_qty, row.actual_qty, row.delta_qty, row.unit_key) == ("2.5", "1", "-1.5", f"doc|{'b' * 32}")
    assert (row.content_hash, row.doc_refs) == (lifecycle.content_hash(found[0]), '["ASN-1","QD1"]')  # compact
    assert "evidence" not in json.loads(row.details) and row.evidence == '["list:QD1/1"]'  # kept apart
    assert (stored["driver"][0].id, stored["driver"][0].actual_qty) == ("a" * 32, "0")
