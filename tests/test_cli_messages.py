"""`connector messages show|raw|purge` on a real store filled from real receipt files."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import structlog
from structlog.testing import capture_logs

from adapters.declarations.inbox import InboxSource
from connector.cli import main
from connector.clock import FixedClock
from connector.declarations import ingest
from connector.store.engine import Store

FIXTURES = Path(__file__).parent / "fixtures" / "customs" / "gx-customs-bridge"
MAPPING = Path(__file__).parents[1] / "mappings" / "examples" / "items.example.toml"


def setup_store(tmp_path: Path) -> Path:
    """Config + a store holding the INV201 (预核扣) and INV211 (正式核扣) of one list, and a linked passport."""
    inbox = tmp_path / "InBox"
    inbox.mkdir()
    inv201 = (FIXTURES / "INV201.xml").read_text(encoding="utf-8").replace("QD311124E000098849", "QD311124I000067486")
    (inbox / "1.INV").write_text(inv201, encoding="utf-8")
    (inbox / "2.INV").write_bytes((FIXTURES / "INV211.xml").read_bytes())
    sas = (FIXTURES / "SAS221.xml").read_text(encoding="utf-8").replace("QD311124I000067647", "QD311124I000067486")
    (inbox / "3.SAS").write_text(sas, encoding="utf-8")
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    adapter = InboxSource("inbox", InboxSource.Config(path=inbox, timezone="Asia/Shanghai", settle_seconds=0))
    with capture_logs():  # keep stdout for the command under test
        ingest(store, "inbox", adapter, FixedClock(datetime(2024, 8, 1, tzinfo=UTC)), structlog.get_logger())
    store.close()
    config = tmp_path / "config.toml"
    config.write_text(f'[connector]\nsite = "t"\n[store]\nurl = "sqlite:///{tmp_path / "state.db"}"\n'
                      f'[sources.wms]\nadapter = "sql"\nmapping = "m.toml"\nurl = "sqlite://"\n'
                      f'timezone = "Asia/Shanghai"\nencoding = "utf-8"\nquery = "SELECT 1"\n', encoding="utf-8")
    (tmp_path / "m.toml").write_bytes(MAPPING.read_bytes())
    return config


def test_messages_show_prints_the_life_cycle_of_a_list(tmp_path, capsys):
    config = setup_store(tmp_path)
    assert main(["messages", "show", "QD311124I000067486", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "核注清单" in out and "正式核扣" in out and "2024-07-27 07:41:03" in out
    assert out.index("INV201") < out.index("INV211")  # both receipts, oldest first
    assert "passport Z3111I240728000000000003: stucd 1" in out


def test_messages_show_json_and_by_internal_number(tmp_path, capsys):
    config = setup_store(tmp_path)
    assert main(["messages", "show", "临海43447305", "--format", "json", "-c", str(config)]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["document"] == "QD311124I000067486"
    assert [r["message_type"] for r in found["receipts"]] == ["INV201", "INV211"]


def test_messages_show_unknown_document_exits_1(tmp_path, capsys):
    config = setup_store(tmp_path)
    assert main(["messages", "show", "QD000000000000000", "-c", str(config)]) == 1
    assert "no document" in capsys.readouterr().err


def test_messages_raw_gives_back_the_exact_bytes(tmp_path, capsysbinary):
    config = setup_store(tmp_path)
    data = (FIXTURES / "INV211.xml").read_bytes()
    assert main(["messages", "raw", hashlib.sha256(data).hexdigest(), "-c", str(config)]) == 0
    assert capsysbinary.readouterr().out == data


def test_messages_purge_keeps_messages_within_their_retention(tmp_path, capsys):
    config = setup_store(tmp_path)
    assert main(["messages", "purge", "-c", str(config)]) == 0
    assert json.loads(capsys.readouterr().out) == {"raw_messages_deleted": 0}
