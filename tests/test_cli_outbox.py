"""`connector outbox list|retry` on a real SQLite store: dead messages are visible and re-queued."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from connector.cli import main
from connector.outbox import enqueue
from connector.store.engine import Store
from connector.store.tables import outbox
from connector.store.tables_delivery import sink_state

MAPPING = Path(__file__).parents[1] / "mappings" / "examples" / "items.example.toml"
T0 = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def setup(tmp_path):
    db = tmp_path / "state.db"
    store = Store.open(f"sqlite:///{db}")
    with store.begin() as conn:
        ids = [enqueue(conn, sink="customs", event="discrepancy.opened", key=f"d{n}:1", discrepancy_id=f"d{n}",
                       payload={"n": n}, now=T0, seq=1) for n in range(3)]
        conn.execute(update(outbox).where(outbox.c.id.in_(ids[:2])).values(status="dead", attempts=20,
                                                                            last_status=503, last_error="HTTP 503"))
        conn.execute(sink_state.insert().values(sink="customs", state="disabled", failures=0, reason="HTTP 410",
                                                changed_at=T0))
    config = tmp_path / "config.toml"
    config.write_text(f'[connector]\nsite = "t"\n[store]\nurl = "sqlite:///{db}"\n'
                      f'[sources.wms]\nadapter = "sql"\nmapping = "m.toml"\nurl = "sqlite://"\n'
                      f'timezone = "Asia/Shanghai"\nencoding = "utf-8"\nquery = "SELECT 1"\n', encoding="utf-8")
    (tmp_path / "m.toml").write_bytes(MAPPING.read_bytes())
    yield config, store, ids
    store.close()


def test_outbox_list_shows_dead_messages_and_the_disabled_sink(setup, capsys):
    config, _store, ids = setup
    assert main(["outbox", "list", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert ids[0] in out and ids[1] in out and ids[2] not in out
    assert "sink customs: disabled" in out


def test_outbox_list_json_all_has_every_message_without_bodies(setup, capsys):
    config, _store, ids = setup
    assert main(["outbox", "list", "--status", "all", "--format", "json", "-c", str(config)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(m["id"] for m in data["messages"]) == sorted(ids)
    assert "body" not in data["messages"][0] and data["sinks"][0]["state"] == "disabled"


def test_outbox_retry_by_id_requeues_only_that_message_with_fresh_attempts(setup, capsys):
    config, store, ids = setup
    assert main(["outbox", "retry", ids[0], "-c", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)["requeued"] == 1
    with store.read() as conn:
        rows = {r.id: r for r in conn.execute(select(outbox))}
    assert (rows[ids[0]].status, rows[ids[0]].attempts) == ("pending", 0) and rows[ids[1]].status == "dead"


def test_outbox_retry_sink_requeues_its_dead_and_re_enables_it(setup, capsys):
    config, store, _ids = setup
    assert main(["outbox", "retry", "--sink", "customs", "-c", str(config)]) == 0
    assert json.loads(capsys.readouterr().out) == {"requeued": 2, "circuits_closed": 1}
    with store.read() as conn:
        assert {r.status for r in conn.execute(select(outbox.c.status))} == {"pending"}
        assert conn.execute(select(sink_state)).all() == []


def test_outbox_retry_without_a_target_is_a_usage_error(setup, capsys):
    config, _store, _ids = setup
    assert main(["outbox", "retry", "-c", str(config)]) == 2
