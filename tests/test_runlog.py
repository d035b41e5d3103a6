"""connector.runlog: the hash-chained run log on a real SQLite state store."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from connector import runlog
from connector.store.engine import Store

T0 = datetime(2024, 3, 4, 1, 15, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    store = Store.open("sqlite:///" + str(tmp_path / "s.db"))
    yield store
    store.close()


def _record_runs(store: Store, n: int) -> list[str]:
    hashes = []
    for i in range(n):
        with store.begin() as conn:
            start = T0 + timedelta(minutes=i)
            hashes.append(runlog.record(conn, "sync", start, start + timedelta(seconds=5), "ok", {"rows": i}))
    return hashes


def _problems(store: Store) -> list[str]:
    with store.read() as conn:
        return runlog.verify(conn)


def test_record_first_row_links_to_zero_hash(store):
    [digest] = _record_runs(store, 1)
    with store.read() as conn:
        [row] = runlog.latest(conn)
    assert row["prev_hash"] == "0" * 64 and row["hash"] == digest


def test_record_links_each_row_to_previous_hash(store):
    hashes = _record_runs(store, 3)
    with store.read() as conn:
        rows = list(reversed(runlog.latest(conn)))
    assert [r["prev_hash"] for r in rows] == ["0" * 64, hashes[0], hashes[1]]


def test_record_hash_follows_documented_recipe(store):
    with store.begin() as conn:
        digest = runlog.record(conn, "compare", T0, T0 + timedelta(seconds=1), "ok", {"b": 2, "a": Decimal("1.50")})
    body = {"counts": {"a": "1.50", "b": 2}, "finished_at": "2024-03-04T01:15:01.000000+00:00", "job": "compare",
            "started_at": "2024-03-04T01:15:00.000000+00:00", "status": "ok"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert digest == hashlib.sha256(("0" * 64 + canonical).encode()).hexdigest()


def test_verify_with_intact_chain_returns_no_problems(store):
    _record_runs(store, 3)
    assert _problems(store) == []


def test_verify_with_empty_log_returns_no_problems(store):
    assert _problems(store) == []


def test_verify_with_non_utc_times_and_failed_run_still_verifies(store):
    shanghai = datetime(2024, 3, 4, 9, 15, tzinfo=ZoneInfo("Asia/Shanghai"))
    with store.begin() as conn:
        runlog.record(conn, "deliver", shanghai, shanghai, "failed", {"error": "ConnectError: 错误"})
    assert _problems(store) == []


def test_verify_with_counts_altered_by_sql_reports_that_row(store):
    _record_runs(store, 3)
    with store.begin() as conn:
        conn.exec_driver_sql("""UPDATE run_log SET counts = '{"rows": 999}' WHERE id = 2""")
    problems = _problems(store)
    assert len(problems) == 1
    assert "row 2" in problems[0] and "altered" in problems[0]


def test_verify_with_altered_row_rehashed_reports_broken_link(store):
    _record_runs(store, 3)
    with store.begin() as conn:
        row = conn.exec_driver_sql("SELECT prev_hash, started_at, finished_at FROM run_log WHERE id = 2").one()
        forged = runlog.chain_hash(row.prev_hash, "sync", datetime.fromisoformat(row.started_at),
                                   datetime.fromisoformat(row.finished_at), "ok", {"rows": 999})
        conn.exec_driver_sql("UPDATE run_log SET counts = '{\"rows\": 999}', hash = ? WHERE id = 2", (forged,))
    problems = _problems(store)
    assert len(problems) == 1 and "row 3" in problems[0] and "link" in problems[0]


def test_verify_with_row_deleted_reports_broken_link(store):
    _record_runs(store, 3)
    with store.begin() as conn:
        conn.exec_driver_sql("DELETE FROM run_log WHERE id = 2")
    problems = _problems(store)
    assert len(problems) == 1 and "row 3" in problems[0] and "row 1" in problems[0]


def test_record_after_tampering_keeps_appending_and_problem_stays_visible(store):
    _record_runs(store, 2)
    with store.begin() as conn:
        conn.exec_driver_sql("UPDATE run_log SET status = 'ok!' WHERE id = 1")
    _record_runs(store, 1)
    assert [p.split(":")[0] for p in _problems(store)] == ["run_log row 1"]


def test_record_with_naive_datetime_raises(store):
    with store.begin() as conn, pytest.raises(ValueError, match="timezone-aware"):
        runlog.record(conn, "sync", datetime(2024, 1, 1), datetime(2024, 1, 1), "ok", {})


@pytest.mark.parametrize("counts", [{"qty": float("nan")}, {"qty": Decimal("NaN")}])
def test_record_with_non_finite_count_raises(store, counts):
    with store.begin() as conn, pytest.raises(ValueError):
        runlog.record(conn, "sync", T0, T0, "ok", counts)


def test_record_with_non_json_count_raises(store):
    with store.begin() as conn, pytest.raises(TypeError, match="JSON data"):
        runlog.record(conn, "sync", T0, T0, "ok", {"when": object()})


def test_latest_returns_newest_first_up_to_limit(store):
    _record_runs(store, 5)
    with store.read() as conn:
        rows = runlog.latest(conn, limit=2)
    assert [r["id"] for r in rows] == [5, 4]
    assert rows[0]["counts"] == {"rows": 4} and rows[0]["started_at"].tzinfo is not None
