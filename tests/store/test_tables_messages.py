"""Migration 0002 (messages) on SQLite and PostgreSQL: the tables and columns exist, and real
receipts go through them with exact decimals, aware times and the raw bytes intact. SAS231 and
EMS221 have no real sample: their receipts are built from the XSD field names
(tests/test_declarations_approvals.py)."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import structlog
from sqlalchemy import inspect, select

from adapters.declarations.inbox import InboxSource
from connector.clock import FixedClock
from connector.declarations import ingest
from connector.store.messages_columns import MESSAGES_HEAD_CODES, MESSAGES_PASSPORT_WTS
from connector.store.tables import passports
from connector.store.tables_messages import (
    raw_messages,
    vehicles,
    writeoff_lines,
    writeoffs,
)
from tests.test_declarations_approvals import ems221, line, sas231

FIXTURES = Path(__file__).parents[1] / "fixtures" / "customs" / "gx-customs-bridge"
NEW_TABLES = {"raw_messages", "stock_bills", "stock_bill_lines", "business_forms", "business_form_lines",
              "cent_dcl_stock_links", "passport_entry_links", "vehicles", "writeoffs", "writeoff_lines"}


@pytest.fixture
def store(any_store):
    return any_store


def test_migrated_store_has_the_messages_tables_and_columns(store):
    inspector = inspect(store.engine)
    assert NEW_TABLES <= set(inspector.get_table_names())
    heads = {c["name"] for c in inspector.get_columns("bond_invt_heads")}
    assert set(MESSAGES_HEAD_CODES) <= heads
    assert set(MESSAGES_PASSPORT_WTS) | {"secd_pass_time", "logistics_stucd"} <= {
        c["name"] for c in inspector.get_columns("passports")}
    assert {"result_rank", "doc_state"} <= {c["name"] for c in inspector.get_columns("receipts")}


def test_real_receipts_round_trip_through_the_new_columns(store, tmp_path):
    inbox = tmp_path / "InBox"
    inbox.mkdir()
    data = (FIXTURES / "SAS221.xml").read_bytes()
    (inbox / "SAS221.xml").write_bytes(data)
    adapter = InboxSource("inbox", InboxSource.Config(path=inbox, timezone="Asia/Shanghai", settle_seconds=0))
    ingest(store, "inbox", adapter, FixedClock(datetime(2024, 8, 1, tzinfo=UTC)), structlog.get_logger())
    with store.read() as conn:
        passport = conn.execute(select(passports)).one()
        raw = conn.execute(select(raw_messages)).one()
    assert (passport.vehicle_wt, passport.vehicle_frame_wt, passport.logistics_stucd) == (
        Decimal("13000"), Decimal("1000"), "0")
    assert zlib.decompress(raw.content) == data
    assert raw.keep_until.tzinfo is not None


def test_two_step_entry_links_are_written_and_read_back(store):
    from sqlalchemy import insert

    from connector.store.tables import receipts
    from connector.store.tables_messages import passport_entry_links

    now = datetime(2024, 10, 30, 7, 41, tzinfo=UTC)
    with store.begin() as conn:
        receipt_id = conn.execute(insert(receipts).values(
            source="inbox", file_name="SAS251.xml", sha256="0" * 64, message_type="SAS251",
            received_at=now)).inserted_primary_key[0]
        conn.execute(insert(passport_entry_links), [
            {"passport_no": "Z3105I241030T00000000075", "entry_id": e, "receipt_id": receipt_id}
            for e in ("311120241119970515", "311120241119970516")])
    with store.read() as conn:
        assert sorted(conn.execute(select(passport_entry_links.c.entry_id)).scalars()) == [
            "311120241119970515", "311120241119970516"]


def test_vehicle_and_writeoff_approvals_round_trip_exactly(store, tmp_path):
    inbox = tmp_path / "InBox"
    inbox.mkdir()
    (inbox / "a.SAS").write_bytes(sas231(vehicleWt="13000.12345"))
    (inbox / "b.EMS").write_bytes(ems221("1", line(1, "99999999999999.99999", "0.00001", "99999999999999.99998")))
    adapter = InboxSource("inbox", InboxSource.Config(path=inbox, timezone="Asia/Shanghai", settle_seconds=0))
    ingest(store, "inbox", adapter, FixedClock(datetime(2024, 8, 1, tzinfo=UTC)), structlog.get_logger())
    with store.read() as conn:
        vehicle = conn.execute(select(vehicles)).one()
        head = conn.execute(select(writeoffs)).one()
        dt = conn.execute(select(writeoff_lines)).one()
    assert (vehicle.vehicle_no, vehicle.vehicle_wt, vehicle.dcl_time) == (
        "浙A00007", Decimal("13000.12345"), datetime(2024, 8, 1, 1, 30, tzinfo=UTC))
    assert (head.ems_no, head.chgoff_tms_cnt, head.emapv_time.tzinfo is not None) == ("T3111W000076", 3, True)
    assert head.emapv_time == datetime(2024, 7, 20, 8, 0, tzinfo=UTC)
    assert (dt.shd_remain_qty, dt.actl_remain_qty, dt.dsml_qty) == (
        Decimal("99999999999999.99999"), Decimal("0.00001"), Decimal("99999999999999.99998"))
