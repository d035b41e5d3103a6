"""`connector sources ...` on a profile-driven site (GreaterWMS on SQLite)."""

from __future__ import annotations

import json
import sqlite3

from connector.cli import main
from tests.profiles.loaders import load_sqlite


def _site(make_site, tmp_path):
    path = tmp_path / "greaterwms.db"
    load_sqlite(path, "greaterwms")
    return make_site("greaterwms", f"sqlite:///{path}", "greaterwms.toml"), path


def test_sources_status_shows_profile_cursor_and_position(make_site, tmp_path, capsys):
    site, _ = _site(make_site, tmp_path)
    site.app.sync()
    assert main(["sources", "status", "-c", str(site.path)]) == 0
    report = json.loads(capsys.readouterr().out)["wms"]
    assert (report["profile"], report["cursor"], report["halted"]) == ("greaterwms", "monotonic", None)
    assert report["position"] == {"line_key": {"t": "int", "v": 7}}


def test_sources_reset_without_confirm_is_refused(make_site, tmp_path, capsys):
    site, _ = _site(make_site, tmp_path)
    assert main(["sources", "reset", "wms", "-c", str(site.path)]) == 2


def test_sources_reset_clears_a_halt(make_site, tmp_path, capsys):
    site, path = _site(make_site, tmp_path)
    site.app.sync()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM qtyrecorder")  # truncated: the cursor cannot be valid
    assert "error" in site.app.sync()["source:wms"]["pulled"]
    assert main(["sources", "reset", "wms", "--confirm", "-c", str(site.path)]) == 0
    assert "error" not in site.app.sync()["source:wms"]["pulled"]


def test_sources_reconcile_prints_counts(make_site, tmp_path, capsys):
    site, _ = _site(make_site, tmp_path)
    site.app.sync()
    assert main(["sources", "reconcile", "-c", str(site.path)]) == 0
    assert json.loads(capsys.readouterr().out)["source:wms"]["items"] == 3


def test_mappings_check_on_a_covered_site_lists_nothing(make_site, tmp_path, capsys):
    site, _ = _site(make_site, tmp_path)
    site.app.sync()
    assert main(["mappings", "check", "--days", "100000", "-c", str(site.path)]) == 0
    assert json.loads(capsys.readouterr().out)["wms"] == {"unknown_movement_types": [], "unmapped_skus": [],
                                                          "units_without_factor": []}


def test_mappings_check_lists_unmapped_skus_units_and_types_seen_lately(make_site, tmp_path, capsys):
    from connector.store.tables import movements

    site, _ = _site(make_site, tmp_path)
    site.app.sync()
    with site.app.store.begin() as conn:
        keys = [r.line_key for r in conn.execute(movements.select().order_by(movements.c.id).limit(3))]
        for key, values in zip(keys, [{"sku": "NEW-SKU"}, {"movement_type": "weird"}, {"uom": "箱"}]):
            conn.execute(movements.update().where(movements.c.line_key == key).values(**values))
    assert main(["mappings", "check", "--days", "100000", "-c", str(site.path)]) == 1
    report = json.loads(capsys.readouterr().out)["wms"]
    assert [g["value"] for g in report["unmapped_skus"]] == ["NEW-SKU"]
    assert [g["value"] for g in report["unknown_movement_types"]] == ["weird"]
    assert len(report["units_without_factor"]) == 1 and "[箱]" in report["units_without_factor"][0]["value"]
    assert main(["mappings", "check", "--days", "0", "-c", str(site.path)]) == 0  # nothing staged that recently


def test_daemon_schedules_the_reconciliation_for_a_source_with_a_snapshot(make_site, tmp_path):
    from connector.daemon import Daemon

    site, _ = _site(make_site, tmp_path)
    daemon = Daemon(site.app.loaded, str(site.path))
    try:
        daemon.schedule()
        job = daemon.scheduler.get_job("reconcile")
        assert job is not None and job.trigger.interval.total_seconds() == 21600
        daemon._run_stage("reconcile")  # what the job runs: the same counts as `sources reconcile`
    finally:
        daemon.app.close()
