"""`connector periods` (the 核销 figures) and `connector discrepancies show` for the C4/C5/C7/C9 kinds."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from connector.config.schema import CompareSection
from connector.store.tables import discrepancies
from tests.compare.test_cli import run, write_config
from tests.compare.wms_world import WmsWorld
from tests.support.wms import log  # noqa: F401

FEB = datetime(2025, 2, 10, tzinfo=UTC)
SETTINGS = CompareSection(writeoff_period_months=1, writeoff_since=date(2025, 1, 1), non_bonded_locations=["NB-*"])


@pytest.fixture
def setup(tmp_path, log):  # noqa: F811
    world = WmsWorld(tmp_path, log)
    world.ship(line_key="R1", qty="10", vehicle=None, at=FEB, movement_type="receipt", location="NB-1")
    world.ship(line_key="S1", qty="3", vehicle="浙B12345", gross="120", at=FEB + timedelta(days=1))
    world.truck(no="HF1", vehicle="浙B12345", at=FEB + timedelta(days=1, hours=1), gross="100")
    world.clock.advance(days=40)
    world.compare(routes={}, settings=SETTINGS)
    with world.store.read() as conn:
        ids = {r.kind + "/" + (r.details.get("compared") or ""): r.id for r in conn.execute(select(discrepancies))}
    world.store.close()
    return write_config(tmp_path, "\n[compare]\nwriteoff_period_months = 1\n"), ids


def test_periods_json_gives_each_line_and_period_in_filing_words(setup, capsys):
    config, _ = setup
    code, out, _ = run(capsys, "-c", str(config), "periods", "--format", "json")
    [row] = json.loads(out)
    assert code == 0
    assert (row["bwsNo"], row["gdsSeqno"], row["period_start"], row["actlRemainQty"], row["filing_due"]) == (
        "T2345W000001", 1, "2025-02-01", "7", "2025-04-30")


def test_periods_table_filters_by_period_and_says_when_there_is_nothing(setup, capsys):
    config, _ = setup
    code, out, _ = run(capsys, "-c", str(config), "periods", "--period", "2025-02")
    assert code == 0 and "实际剩余" in out and "2025-02-01" in out and "T2345W000001" in out
    code, out, _ = run(capsys, "-c", str(config), "periods", "--period", "2025-03-15")
    assert code == 0 and out.startswith("no period figures")
    code, _, err = run(capsys, "-c", str(config), "periods", "--period", "March")
    assert code == 2 and "--period March" in err


@pytest.mark.parametrize(("kind", "words"), [
    ("weight_over_tolerance/wms", ["重量超差", "货物总毛重 totalGrossWt", "WMS 发货毛重"]),
    ("writeoff_due/", ["超期未核销", "报核", "2025-04-30", "approaching 即将到期"]),
    ("bonded_status_mismatch/", ["保税状态不符", "非保", "分类监管", "NB-1"]),
])
def test_show_explains_the_new_kinds_with_chinese_terms(setup, capsys, kind, words):
    config, ids = setup
    code, out, _ = run(capsys, "-c", str(config), "discrepancies", "show", ids[kind])
    assert code == 0
    for word in words:
        assert word in out, (word, out)
