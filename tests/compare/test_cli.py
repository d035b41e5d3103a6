"""`connector compare --rebuild | --as-of` and `connector discrepancies show | ack` on a real store."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from connector import cli
from tests.compare.test_engine import LONG_AGO, NOW, World
from tests.support.wms import log  # noqa: F401


@pytest.fixture
def setup(tmp_path, log):  # noqa: F811
    world = World(tmp_path, log)
    world.move(qty="10")
    world.declare(qty="8")
    world.compare(routes={})
    world.store.close()
    return write_config(tmp_path)


def write_config(tmp_path, more: str = ""):
    """A config on the store in tmp_path (its WMS source is never read by these commands)."""
    config = tmp_path / "config.toml"
    (tmp_path / "wms.sqlite").touch()
    config.write_text(f"""[connector]
site = "zone-1"

[store]
url = "sqlite:///{tmp_path / 'state.db'}"

[sources.wms]
adapter = "sql"
mapping = "items.toml"
url = "sqlite:///{tmp_path / 'wms.sqlite'}"
timezone = "Asia/Shanghai"
encoding = "utf-8"
query = "SELECT 1"
{more}""", encoding="utf-8")
    return config


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def only_id(capsys, config, status="open") -> str:
    _, out, _ = run(capsys, "-c", str(config), "discrepancies", "list", "--format", "json", "--status", status)
    [row] = json.loads(out)
    return row["id"]


def test_show_explains_discrepancy_with_customs_terms_and_evidence(setup, capsys):
    code, out, _ = run(capsys, "-c", str(setup), "discrepancies", "show", only_id(capsys, setup)[:10])
    assert code == 0
    assert "数量不符 (quantity_mismatch)" in out and "申报数量 (declared quantity)" in out
    assert "WMS 出入库 movement revision wms:L1#1" in out and "回执 receipt INV201 QD1.xml" in out


def test_ack_with_reason_sets_acknowledged_and_rebuild_keeps_it(setup, capsys):
    did = only_id(capsys, setup)
    code, out, _ = run(capsys, "-c", str(setup), "discrepancies", "ack", did, "--reason", "broker amends QD1")
    assert code == 0 and json.loads(out)["status"] == "acknowledged"
    code, out, _ = run(capsys, "-c", str(setup), "compare", "--rebuild")
    assert json.loads(out)["opened"] == 0 and only_id(capsys, setup, "acknowledged") == did
    _, out, _ = run(capsys, "-c", str(setup), "discrepancies", "show", did)
    assert "acknowledged 已确认: broker amends QD1" in out


def test_ack_of_unknown_id_or_empty_reason_exits_1(setup, capsys):
    assert run(capsys, "-c", str(setup), "discrepancies", "ack", "ffffffffff", "--reason", "x")[0] == 1
    assert run(capsys, "-c", str(setup), "discrepancies", "ack", only_id(capsys, setup), "--reason", " ")[0] == 1


def test_as_of_shows_only_what_the_store_knew_then_and_writes_nothing(setup, capsys):
    """The list was received 10 days ago, the movement was posted now: 5 days ago only the list existed."""
    at = (LONG_AGO + timedelta(days=5)).astimezone().isoformat()
    code, out, _ = run(capsys, "-c", str(setup), "compare", "--as-of", at)
    picture = json.loads(out)
    assert code == 0 and [d["kind"] for d in picture["discrepancies"]] == ["list_without_movement"]
    code, out, _ = run(capsys, "-c", str(setup), "compare", "--as-of", (LONG_AGO - timedelta(days=1)).isoformat())
    assert json.loads(out)["discrepancies"] == []
    assert only_id(capsys, setup)  # the stored discrepancy is untouched


def test_as_of_without_offset_is_a_usage_error(setup, capsys):
    code, _, err = run(capsys, "-c", str(setup), "compare", "--as-of", "2025-03-31T24:00")
    assert code == 2 and "offset" in err
    assert NOW  # the world's clock: NOW is after everything stored
