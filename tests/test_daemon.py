"""`connector run` as a real process: READY, watchdog after real ticks, clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.wms import write_receipt_mapping


def _write_site(tmp: Path, sync_seconds: int = 1) -> Path:
    wms = sqlite3.connect(tmp / "wms.sqlite")
    wms.execute("CREATE TABLE mv (id INTEGER PRIMARY KEY, ts TEXT, sku TEXT, qty TEXT)")
    wms.execute("INSERT INTO mv VALUES (1, '2024-03-04 09:15:00', 'A', '5')")
    wms.commit()
    wms.close()
    write_receipt_mapping(tmp / "mapping.toml", label="daemon-test")
    config = tmp / "config.toml"
    config.write_text(f"""
[connector]
site = "daemon-test"
[store]
url = "sqlite:///{tmp / 'state.db'}"
[sources.wms]
adapter = "sql"
mapping = "mapping.toml"
url = "sqlite:///{tmp / 'wms.sqlite'}"
timezone = "Asia/Shanghai"
encoding = "utf-8"
query = "SELECT id AS line_key, ts AS changed_at, ts AS occurred_at, sku, qty, 'pcs' AS uom, 'receipt' AS movement_type, 'D1' AS doc_ref, NULL AS lot, NULL AS location FROM mv"
[schedule]
sync_seconds = {sync_seconds}
compare_seconds = 1
deliver_seconds = 1
[logging]
format = "json"
""", encoding="utf-8")
    return config


@pytest.fixture
def notify_socket(tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.5)
    yield sock, path
    sock.close()


@pytest.fixture
def daemon(tmp_path, notify_socket):
    config = _write_site(tmp_path)
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_socket[1]), "WATCHDOG_USEC": "2000000"}
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "connector", "-c", str(config), "run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


def _receive_until(sock: socket.socket, wanted: str, seconds: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and wanted not in seen:
        try:
            seen.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
    return seen


def test_run_under_systemd_sends_ready_then_watchdog_after_ticks(daemon, notify_socket, tmp_path):
    sock = notify_socket[0]
    assert "READY=1" in _receive_until(sock, "READY=1", 30)
    assert "WATCHDOG=1" in _receive_until(sock, "WATCHDOG=1", 30)
    with sqlite3.connect(tmp_path / "state.db") as state:
        assert state.execute("SELECT count(*) FROM movements").fetchone()[0] == 1


def test_run_on_sigterm_stops_cleanly_with_exit_zero(daemon, notify_socket):
    sock = notify_socket[0]
    assert "READY=1" in _receive_until(sock, "READY=1", 30)
    daemon.send_signal(signal.SIGTERM)
    assert "STOPPING=1" in _receive_until(sock, "STOPPING=1", 30)
    assert daemon.wait(timeout=30) == 0


def test_run_with_bad_config_exits_78_without_starting(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[connector]\nsite = "x"\n[sources.wms]\nadapter = "sql"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "connector", "-c", str(config), "run"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    assert "config.toml: sources.wms.mapping: field required" in result.stderr


def _with_snapshot_sink(config: Path, url: str, snapshot_seconds: int) -> Path:
    config.write_text(config.read_text(encoding="utf-8") + f"""
[sinks.customs]
adapter = "http_push"
url = "{url}"
allow_plaintext_loopback = true
events = ["snapshot.*"]
retries = 0
[delivery]
snapshot_seconds = {snapshot_seconds}
""", encoding="utf-8")
    return config


def test_schedule_queues_one_balance_snapshot_per_period(tmp_path):
    from datetime import UTC, datetime, timedelta

    from connector.app import App
    from connector.clock import FixedClock
    from connector.config.load import load
    from connector.daemon import Daemon

    config = _with_snapshot_sink(_write_site(tmp_path), "http://127.0.0.1:9/push", 3600)
    loaded = load(config)
    daemon = Daemon(loaded, str(config))
    clock = FixedClock(datetime(2025, 3, 4, 1, 0, 5, tzinfo=UTC))
    daemon.app.close()
    daemon.app = App(loaded, clock=clock)
    try:
        daemon.schedule()
        job = next(j for j in daemon.scheduler.get_jobs() if j.id == "snapshot")
        assert job.trigger.interval == timedelta(seconds=600) and job.args == ("snapshot",)
        for _ in range(4):  # asked every 10 minutes within one hour's period: one snapshot
            job.func(*job.args)
            clock.advance(minutes=10)
        clock.advance(minutes=30)  # the next period
        job.func(*job.args)
    finally:
        daemon.app.close()
    with sqlite3.connect(tmp_path / "state.db") as state:
        rows = state.execute("SELECT sink FROM outbox WHERE event = 'snapshot.balance'").fetchall()
    assert rows == [("customs",), ("customs",)]


def test_run_delivers_the_balance_snapshot_once(tmp_path, notify_socket):
    from tests.support.http_receiver import Receiver

    server = Receiver()
    config = _with_snapshot_sink(_write_site(tmp_path), server.url, 86400)
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_socket[1])}
    proc = subprocess.Popen([sys.executable, "-m", "connector", "-c", str(config), "run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not server.requests:
            time.sleep(0.2)
        time.sleep(2)  # a few more deliver ticks: nothing more to send
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
        server.stop()
    import json

    [request] = server.requests
    assert json.loads(request.body)["event"] == "snapshot.balance"
    with sqlite3.connect(tmp_path / "state.db") as state:
        assert state.execute("SELECT status FROM outbox WHERE event = 'snapshot.balance'").fetchall() == [("sent",)]
