"""Alerts: routed away from the sink they are about, de-duplicated per (kind, subject), rate-limited
per kind, counting what was held back; and delivery's tables on both SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from sqlalchemy import select

from connector import alerts
from connector.alerts import Alerter
from connector.clock import FixedClock
from connector.config.schema import DeliverySection
from connector.outbox import enqueue, relay, retry
from connector.store.engine import Store
from connector.store.tables import outbox
from connector.store.tables_delivery import alert_log, sink_state
from tests.support.http_receiver import receiver  # noqa: F401

T0 = datetime(2025, 3, 4, 1, 15, tzinfo=UTC)
SETTINGS = DeliverySection(alert_repeat_seconds=3600, alert_max_per_hour=3)
ROUTES = {"customs": ["discrepancy.*"], "wecom": ["alert.*"], "mail": ["alert.sink_*"]}


@pytest.fixture
def store(tmp_path):
    opened = Store.open("sqlite:///" + str(tmp_path / "state.db"), busy_timeout=2)
    yield opened
    opened.close()


def _raise(store, subject="customs", kind="sink_disabled", now=T0, exclude=("customs",)) -> bool:
    alerter = Alerter(ROUTES, "zone-1", SETTINGS)
    with store.begin() as conn:
        return alerter.queue(conn, kind=kind, subject=subject, summary="sink gone", action="fix the url", now=now,
                             detail={"sink": subject}, exclude=exclude)


def _alerts(store) -> list[tuple[str, dict]]:
    with store.read() as conn:
        rows = conn.execute(select(outbox.c.sink, outbox.c.body).where(outbox.c.event.like("alert.%"))
                            .order_by(outbox.c.created_at, outbox.c.sink)).all()
    return [(r.sink, json.loads(r.body)) for r in rows]


def test_alert_goes_to_every_matching_sink_except_the_one_it_is_about(store):
    assert _raise(store)
    assert [sink for sink, _ in _alerts(store)] == ["mail", "wecom"]
    _, body = _alerts(store)[0]
    assert body["schema"] == "bonded-connector/alert" and body["alert"]["action"] == "fix the url"


def test_same_alert_within_repeat_window_is_suppressed_then_counted_on_the_next(store):
    assert _raise(store)
    assert not _raise(store, now=T0 + timedelta(minutes=10))
    assert not _raise(store, now=T0 + timedelta(minutes=20))
    assert _raise(store, now=T0 + timedelta(hours=2))
    last = _alerts(store)[-1][1]["alert"]
    assert last["suppressed_before"] == 2 and len(_alerts(store)) == 4


def test_alerts_of_one_kind_are_rate_limited_per_hour(store):
    sent = [_raise(store, subject=f"s{n}", now=T0 + timedelta(minutes=n)) for n in range(5)]
    assert sent == [True, True, True, False, False]
    assert _raise(store, subject="s9", now=T0 + timedelta(hours=1, minutes=5))
    assert _raise(store, subject="other", kind="sink_unauthorized")  # another kind has its own budget


def test_alert_with_no_channel_left_is_logged_not_queued(store):
    alerter = Alerter({"customs": ["*"]}, "zone-1", SETTINGS, structlog.get_logger())
    with store.begin() as conn:
        assert not alerter.queue(conn, kind="sink_disabled", subject="customs", summary="s", action="a", now=T0,
                                 exclude=["customs"])
    assert _alerts(store) == []


def test_quarantine_alerts_keep_their_stage_source_reason_and_rows(store):
    queued = alerts.quarantined(store, stage="mapping", source="wms", reasons={"unmapped_sku": 3},
                                routes={"wecom": ["alert.*"]}, site="zone-1", now=T0)
    [(sink, body)] = _alerts(store)
    assert queued == 1 and sink == "wecom" and body["event"] == "alert.quarantine"
    assert {k: body["alert"][k] for k in ("stage", "source", "reason", "rows")} == {
        "stage": "mapping", "source": "wms", "reason": "unmapped_sku", "rows": 3}


def test_delivery_tables_migrate_and_work_on_both_backends(any_store, receiver):
    from adapters.sinks.http_push import HttpPushSink

    clock = FixedClock(T0)
    with any_store.begin() as conn:
        for v in (1, 2):
            enqueue(conn, sink="customs", event="discrepancy.opened", key=f"d1:{v}", discrepancy_id="d1",
                    payload={"v": v}, now=T0, seq=v)
    receiver.answer(410)
    sink = HttpPushSink("customs", HttpPushSink.Config(url=receiver.url, retries=0,
                                                                 allow_plaintext_loopback=True), clock=clock)
    alerter = Alerter({"customs": ["discrepancy.*"], "ops": ["alert.*"]}, "zone-1", SETTINGS)
    try:
        counts = relay(any_store, {"customs": sink}, SETTINGS, clock, structlog.get_logger(), alerter=alerter)
        assert counts["paused"] == 1
        with any_store.read() as conn:
            assert conn.execute(select(sink_state.c.state)).scalar_one() == "disabled"
            assert conn.execute(select(alert_log.c.kind)).scalar_one() == "sink_disabled"
        assert retry(any_store, T0, sink="customs") == {"requeued": 0, "circuits_closed": 1}
        assert relay(any_store, {"customs": sink}, SETTINGS, clock, structlog.get_logger())["sent"] == 1
    finally:
        sink.close()


def test_source_halted_goes_through_the_alerter_deduplicated_with_what_to_do(store):
    for minutes in (0, 5):  # a second halt report within the repeat window is held back
        alerts.source_halted(store, source="wms", message="cursor beyond the newest row", routes=ROUTES,
                             site="zone-1", now=T0 + timedelta(minutes=minutes), settings=SETTINGS)
    [(sink, body)] = _alerts(store)
    alert = body["alert"]
    assert sink == "wecom" and body["event"] == "alert.source_halted" and alert["subject"] == "source:wms"
    assert "connector sources reset wms --confirm" in alert["action"] and alert["reason"] == "cursor_invalid"
    assert "cursor beyond the newest row" in alert["summary"]


def test_source_halted_through_sync_alert_halted_uses_the_same_alerter(store):
    from connector import sync

    for minutes in (0, 1):
        sync.alert_halted(store, "wms", "restored", routes=ROUTES, site="zone-1", now=T0 + timedelta(minutes=minutes))
    assert [body["event"] for _, body in _alerts(store)] == ["alert.source_halted"]
