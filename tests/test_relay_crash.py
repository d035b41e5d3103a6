"""Kill the relay between "receiver said 2xx" and "row marked sent", restart it, and prove with the
total-queue checker (RELIABILITY.md B2) that nothing was lost and nothing arrived under two keys.

The relay runs in a real subprocess against a SQLite store file and a real HTTP receiver on
127.0.0.1; CONNECTOR_CRASHPOINT=after_push_before_mark_sent makes it SIGKILL itself right after
a successful push, before the outcome is committed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from connector.outbox import enqueue
from connector.store.engine import Store
from connector.store.tables import outbox
from tests.support.http_receiver import receiver  # noqa: F401
from tests.support.queue_checker import check

ROOT = Path(__file__).resolve().parents[1]
RUNNER = textwrap.dedent("""
    import json, sys
    import structlog
    from adapters.sinks.http_push import HttpPushSink
    from connector.clock import SystemClock
    from connector.config.schema import DeliverySection
    from connector.outbox import relay
    from connector.store.engine import Store

    store = Store.open(sys.argv[1])
    sink = HttpPushSink("customs", HttpPushSink.Config(url=sys.argv[2], retries=0, timeout_seconds="5",
                                                       allow_plaintext_loopback=True))
    settings = DeliverySection(batch_size=int(sys.argv[3]))
    print(json.dumps(relay(store, {"customs": sink}, settings, SystemClock(), structlog.get_logger())))
    sink.close()
    store.close()
""")
ITEMS, VERSIONS = 6, 3  # 6 discrepancies, each opened then updated twice: 18 ordered messages


def _fill(url: str) -> set[tuple[str, int]]:
    store = Store.open(url)
    now = datetime.now(UTC) - timedelta(minutes=1)
    with store.begin() as conn:
        for v in range(1, VERSIONS + 1):
            for n in range(ITEMS):
                event = "discrepancy.opened" if v == 1 else "discrepancy.updated"
                enqueue(conn, sink="customs", event=event, key=f"d{n}:{v}:{event}", discrepancy_id=f"d{n}",
                        payload={"id": f"d{n}", "version": v, "event": event}, now=now, seq=v)
    store.close()
    return {(f"d{n}", v) for n in range(ITEMS) for v in range(1, VERSIONS + 1)}


def _run_relay(tmp_path: Path, store_url: str, target: str, batch: int, crash: bool) -> subprocess.CompletedProcess:
    script = tmp_path / "run_relay.py"
    script.write_text(RUNNER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CONNECTOR_CRASHPOINT"}
    if crash:
        env["CONNECTOR_CRASHPOINT"] = "after_push_before_mark_sent"
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, str(script), store_url, target, str(batch)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def _statuses(store_url: str) -> set[str]:
    store = Store.open(store_url)
    try:
        with store.read() as conn:
            return {r.status for r in conn.execute(select(outbox.c.status))}
    finally:
        store.close()


def _logical(body: bytes) -> tuple[str, int]:
    data = json.loads(body)
    return data["id"], data["version"]


def test_relay_killed_between_send_and_mark_sent_loses_nothing_and_never_uses_two_keys(tmp_path, receiver):
    store_url = f"sqlite:///{tmp_path / 'state.db'}"
    expected = _fill(store_url)
    kills = 0
    for _ in range(3):  # crash on a push, then let a small batch through, and again
        crashed = _run_relay(tmp_path, store_url, receiver.url, batch=50, crash=True)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        kills += 1
        assert _run_relay(tmp_path, store_url, receiver.url, batch=2, crash=False).returncode == 0
    for _ in range(VERSIONS * 2):  # restart without faults until drained (one pass per version at most)
        finished = _run_relay(tmp_path, store_url, receiver.url, batch=50, crash=False)
        assert finished.returncode == 0, finished.stderr
        if _statuses(store_url) == {"sent"}:
            break
    verdict = check(expected, [(r.headers["idempotency-key"], r.body) for r in receiver.requests], _logical)
    assert verdict.valid, verdict
    assert verdict.duplicated >= kills  # each kill re-sent the message it had pushed (at-least-once)
    assert _statuses(store_url) == {"sent"}
    versions_in_order = [_logical(r.body) for r in receiver.requests]
    for n in range(ITEMS):
        seen = [v for d, v in versions_in_order if d == f"d{n}"]
        assert seen == sorted(seen), f"d{n} delivered out of order: {seen}"
