"""Broker-system database source: a real SQLite broker database read through the SQL machinery."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import structlog
from sqlalchemy import select

from adapters.declarations.broker_db import BrokerDbSource
from connector.clock import FixedClock
from connector.declarations import ingest
from connector.store.engine import Store
from connector.store.tables import bond_invt_heads, bond_invt_lines, receipts

SECTIONS = {
    "BondInvtBsc": "SELECT invt_no AS bondInvtNo, inner_no AS etpsInnerInvtNo, ledger AS putrecNo, "
                   "io AS impexpMarkcd, mark AS vrfdedMarkcd, prevd AS prevdTime FROM invt WHERE invt_no = :doc_no",
    "BondInvtDt": "SELECT invt_no AS bondInvtNo, seq AS gdsSeqno, item AS gdsMtno, qty AS dclQty "
                  "FROM invt_line WHERE invt_no = :doc_no",
}
DOCUMENTS = "SELECT invt_no AS doc_no, 'INV201' AS message_type, changed AS changed_at FROM invt"


def broker_db(path: Path, qty: str = "120.12345", changed: str | None = None) -> None:
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE IF NOT EXISTS invt (invt_no TEXT, inner_no TEXT, ledger TEXT, io TEXT, "
                       "mark TEXT, prevd TEXT, changed TEXT); CREATE TABLE IF NOT EXISTS invt_line "
                       "(invt_no TEXT, seq INTEGER, item TEXT, qty TEXT); DELETE FROM invt; DELETE FROM invt_line;")
    stamp = changed or datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    conn.execute("INSERT INTO invt VALUES ('QD311124I000067486', 'WMS-1', 'T3111W000076', 'I', '1', "
                 "'2024-07-25 11:20:47', ?)", (stamp,))
    conn.execute("INSERT INTO invt_line VALUES ('QD311124I000067486', 1, 'SKU-1', ?)", (qty,))
    conn.commit()
    conn.close()


@pytest.fixture
def setup(tmp_path: Path):
    db = tmp_path / "broker.sqlite"
    broker_db(db)
    source = BrokerDbSource("broker", BrokerDbSource.Config(
        url=f"sqlite:///{db}", timezone="Asia/Shanghai", documents=DOCUMENTS, sections=SECTIONS))
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield db, source, store
    source.close()
    store.close()


def run(store, source):
    return ingest(store, "broker", source, FixedClock(datetime(2024, 8, 1, tzinfo=UTC)), structlog.get_logger())


def test_broker_list_is_stored_like_a_receipt_with_exact_quantities(setup):
    db, source, store = setup
    assert run(store, source) == {"files": 1, "ingested": 1, "duplicate": 0, "failed": 0}
    with store.read() as conn:
        head = conn.execute(select(bond_invt_heads)).one()
        line = conn.execute(select(bond_invt_lines)).one()
    assert (head.bond_invt_no, head.etps_inner_invt_no, head.vrfded_markcd) == ("QD311124I000067486", "WMS-1", "1")
    assert head.prevd_time == datetime(2024, 7, 25, 3, 20, 47, tzinfo=UTC)
    assert (line.gds_mtno, line.dcl_qty) == ("SKU-1", Decimal("120.12345"))


def test_broker_rows_unchanged_are_duplicates_and_changed_rows_are_new(setup):
    db, source, store = setup
    run(store, source)
    assert run(store, source)["duplicate"] == 1
    broker_db(db, qty="7")
    assert run(store, source)["ingested"] == 1
    with store.read() as conn:
        assert conn.execute(select(bond_invt_lines.c.dcl_qty)).scalar_one() == Decimal("7")
        assert len(conn.execute(select(receipts)).all()) == 2


def test_broker_documents_older_than_the_lookback_are_not_read(setup):
    db, source, store = setup
    broker_db(db, changed="2001-01-01 00:00:00")
    assert list(source.pending()) == []


def test_broker_url_with_a_password_is_refused():
    with pytest.raises(ValueError, match="password"):
        BrokerDbSource.Config(url="postgresql://u:secret@h/db", timezone="Asia/Shanghai", documents=DOCUMENTS,
                              sections=SECTIONS)


def test_config_example_documents_every_key_of_the_broker_and_ledger_api_adapters():
    import re

    from adapters.declarations.ledger_api import LedgerApiSource

    example = (Path(__file__).parents[3] / "config.example.toml").read_text(encoding="utf-8")
    keys = {m[1] for m in re.finditer(r"^#?\s*([a-z_]+)\s*=", example, re.M)}
    for cls in (BrokerDbSource, LedgerApiSource):
        assert set(cls.Config.model_fields) <= keys, cls.__name__


def test_broker_lookback_is_measured_from_the_apps_clock(tmp_path):
    db = tmp_path / "broker.sqlite"
    broker_db(db, changed="2001-01-01 00:00:00")
    config = BrokerDbSource.Config(url=f"sqlite:///{db}", timezone="Asia/Shanghai", documents=DOCUMENTS,
                                   sections=SECTIONS)
    then = BrokerDbSource("broker", config, clock=FixedClock(datetime(2001, 1, 5, tzinfo=UTC)))
    later = BrokerDbSource("broker", config, clock=FixedClock(datetime(2001, 3, 5, tzinfo=UTC)))
    try:
        assert [h.doc_no for h in then.pending()] == ["QD311124I000067486"] and list(later.pending()) == []
    finally:
        then.close()
        later.close()
