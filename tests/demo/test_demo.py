"""`connector demo` end to end: generated WMS + InBox -> sync, compare, deliver -> local receiver."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connector.demo import run as demo_run
from connector.demo.receiver import DemoReceiver, Received
from connector.demo.run import SECRET_ENV, run_demo, webhook_secret

NOW = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)
KINDS = ("missing_list", "list_without_movement", "quantity_mismatch", "balance_mismatch")
GENERATED_SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{40,}={0,2}")


@dataclass(frozen=True)
class DemoOutcome:
    code: int
    workdir: Path
    output: str
    received: list[Received]


class _KeptReceiver(DemoReceiver):
    """The demo's receiver, kept after the run so the test can read what it got."""

    last: _KeptReceiver | None = None

    def start(self) -> _KeptReceiver:
        _KeptReceiver.last = self
        return super().start()


def _run(workdir: Path, now: datetime = NOW) -> DemoOutcome:
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_run, "DemoReceiver", _KeptReceiver)
        code = run_demo(workdir, out=out, now=now)
    return DemoOutcome(code, workdir, out.getvalue(), list(_KeptReceiver.last.requests))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoOutcome:
    return _run(tmp_path_factory.mktemp("demo") / "demo-run")


def _rows(workdir: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(workdir / "state.db")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _opened(workdir: Path) -> dict[str, tuple]:
    """Open discrepancies by id: (kind, item_no, delta_qty)."""
    rows = _rows(workdir, "SELECT id, kind, item_no, delta_qty FROM discrepancies WHERE status = 'open'")
    return {r[0]: (r[1], r[2], Decimal(r[3])) for r in rows}


def test_demo_run_returns_zero_and_reports_every_stage(demo: DemoOutcome) -> None:
    assert demo.code == 0
    for heading in ("Generated", "Stages", "Quarantined WMS rows", "Failed InBox files", "Discrepancies",
                    "Delivery to the local receiver"):
        assert heading in demo.output
    assert not GENERATED_SECRET.search(demo.output)


def test_demo_run_finds_each_kind_of_discrepancy_in_the_store(demo: DemoOutcome) -> None:
    found = set(_opened(demo.workdir).values())
    assert {kind for kind, _, _ in found} >= set(KINDS)
    assert ("quantity_mismatch", "SSD-1T", Decimal(10)) in found
    assert ("missing_list", "CU-2.5", Decimal(-125)) in found
    assert ("list_without_movement", "KBD-104", Decimal(300)) in found
    assert ("balance_mismatch", "MON-27Q", Decimal(-2)) in found


def test_demo_run_with_unmapped_sku_quarantines_its_receipt(demo: DemoOutcome) -> None:
    rows = _rows(demo.workdir, "SELECT stage, reason, detail FROM quarantine WHERE resolved_at IS NULL")
    assert any(stage == "mapping" and reason == "unmapped_sku" and "HDMI-CBL-2M" in detail
               for stage, reason, detail in rows)
    assert "unmapped_sku" in demo.output


def test_demo_run_with_cut_off_receipt_moves_it_to_failed_and_the_rest_to_processed(demo: DemoOutcome) -> None:
    failed = sorted(p.name for p in (demo.workdir / "failed").iterdir())
    processed = list((demo.workdir / "processed").iterdir())
    assert len(failed) == 2 and failed[1] == failed[0] + ".reason.txt"
    assert not list((demo.workdir / "InBox").iterdir())
    assert {p.suffix for p in processed} == {".INV", ".SAS"} and len(processed) > 40
    assert failed[0] in demo.output
    rows = _rows(demo.workdir, "SELECT ref, reason FROM quarantine WHERE stage = 'declaration'")
    assert [ref for ref, _ in rows] == [failed[0]]


def test_demo_run_pushes_one_message_per_opened_discrepancy(demo: DemoOutcome) -> None:
    pushes = [r for r in demo.received if not r.path.startswith("/alerts")]
    bodies = [json.loads(r.body) for r in pushes]
    assert sorted(b["discrepancy"]["id"] for b in bodies) == sorted(_opened(demo.workdir))
    assert {b["event"] for b in bodies} == {"discrepancy.opened"}
    assert all("idempotency-key" in r.headers for r in pushes)


def test_demo_run_signs_every_alert_webhook(demo: DemoOutcome) -> None:
    hooks = [r for r in demo.received if r.path == "/alerts"]
    assert len(hooks) >= len(_opened(demo.workdir))
    assert all(r.headers.get("webhook-signature", "").startswith("v1,") for r in hooks)


def test_demo_run_writes_the_webhook_secret_by_reference_only(demo: DemoOutcome) -> None:
    config = (demo.workdir / "config.toml").read_text(encoding="utf-8")
    assert 'secret = "${CONNECTOR_DEMO_WEBHOOK_SECRET}"' in config
    assert not GENERATED_SECRET.search(config)


def test_webhook_secret_sets_a_fresh_secret_and_restores_the_previous_value(monkeypatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "whsec_AAAA")
    with webhook_secret():
        assert GENERATED_SECRET.fullmatch(os.environ[SECRET_ENV])
    assert os.environ[SECRET_ENV] == "whsec_AAAA"
    monkeypatch.delenv(SECRET_ENV)
    with webhook_secret():
        pass
    assert SECRET_ENV not in os.environ


def test_demo_run_again_with_same_now_wipes_the_folder_and_finds_the_same(demo: DemoOutcome,
                                                                          tmp_path: Path) -> None:
    again = _run(tmp_path / "again")
    assert again.code == 0
    assert _opened(again.workdir) == _opened(demo.workdir)
    rerun = _run(again.workdir)
    assert rerun.code == 0 and _opened(rerun.workdir) == _opened(demo.workdir)


def test_demo_on_a_folder_it_did_not_create_refuses_and_keeps_it(tmp_path: Path) -> None:
    keep = tmp_path / "mine.txt"
    keep.write_text("not a demo", encoding="utf-8")
    assert run_demo(tmp_path, out=io.StringIO(), now=NOW) == 1
    assert keep.read_text(encoding="utf-8") == "not a demo"
