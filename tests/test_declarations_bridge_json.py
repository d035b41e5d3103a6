"""The bridge's JSON declarations in an InBox: kept like their XML counterparts, never refused."""

from __future__ import annotations

import shutil
import zlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import structlog
from sqlalchemy import select

from adapters.declarations.inbox import InboxSource
from connector.clock import FixedClock
from connector.declarations import ingest
from connector.message_history import history
from connector.store.engine import Store
from connector.store.tables import (
    bond_invt_heads,
    passport_lines,
    passports,
    quarantine,
    receipts,
)
from connector.store.tables_messages import passport_entry_links, raw_messages
from tests.adapters.declarations.test_bridge_json import NUMBERED_SAS121

BRIDGE = Path(__file__).parent / "fixtures" / "customs" / "gx-customs-bridge"


@pytest.fixture
def store(tmp_path: Path):
    opened = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield opened
    opened.close()


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "InBox"
    path.mkdir()
    return path


def run(store: Store, inbox: Path) -> dict[str, int]:
    adapter = InboxSource("inbox", InboxSource.Config(path=inbox, timezone="Asia/Shanghai", settle_seconds=0))
    return ingest(store, "inbox", adapter, FixedClock(datetime(2024, 9, 3, tzinfo=UTC)), structlog.get_logger())


def table(store: Store, t) -> list[dict]:
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t))]


def test_every_bridge_json_fixture_is_kept_with_its_raw_bytes_and_no_head(store, inbox):
    for path in BRIDGE.glob("*.json"):
        shutil.copy(path, inbox / path.name)
    counts = run(store, inbox)
    assert (counts["ingested"], counts["failed"], counts.get("unknown", 0)) == (7, 0, 0)
    assert table(store, quarantine) == []
    kept = {r["file_name"]: r for r in table(store, raw_messages)}
    assert zlib.decompress(kept["icp101.json"]["content"]) == (BRIDGE / "icp101.json").read_bytes()
    by_file = {r["file_name"]: (r["message_type"], r["business_id"], r["result_rank"]) for r in table(store, receipts)}
    assert by_file["inv101_head.json"] == ("INV101", "1", 0)
    assert by_file["sas121_head.json"] == ("SAS121", "1", 0)
    assert by_file["icp101.json"] == ("ICP101", "测试报文2", 0)
    assert (table(store, bond_invt_heads), table(store, passports), table(store, passport_entry_links)) == ([], [], [])


def test_drafted_icp101_history_is_found_by_the_firms_own_number(store, inbox):
    shutil.copy(BRIDGE / "icp101.json", inbox / "icp101.json")
    run(store, inbox)
    with store.read() as conn:
        found = history(conn, "测试报文2")
    assert (found["head"], [r["message_type"] for r in found["receipts"]]) == (None, ["ICP101"])


def test_numbered_bridge_passport_is_stored_and_a_later_redraft_replaces_it(store, inbox):
    (inbox / "a_sas121.json").write_bytes(NUMBERED_SAS121)
    run(store, inbox)
    [head] = table(store, passports)
    assert (head["passport_no"], head["result_rank"], head["total_gross_wt"]) == (
        "Z3111I240903000000000007", 0, Decimal("1130.98"))
    assert [(r["passport_seqno"], r["dcl_qty"]) for r in table(store, passport_lines)] == [(6, Decimal("1348"))]
    (inbox / "b_sas121.json").write_bytes(NUMBERED_SAS121.replace(b"1130.98", b"1"))  # a redraft ranks equal
    run(store, inbox)
    assert [p["total_gross_wt"] for p in table(store, passports)] == [Decimal("1")]
