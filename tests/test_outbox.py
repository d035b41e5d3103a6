"""The outbox and its relay, end to end: SQLite state store, real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest
import structlog
from sqlalchemy import select
from structlog.testing import capture_logs

from adapters.sinks.http_push import HttpPushSink
from connector.abc import OutboundMessage, Sink
from connector.clock import FixedClock
from connector.config.schema import DeliverySection
from connector.config.secrets import Secret
from connector.outbox import canonical_json, enqueue, relay
from connector.store.engine import Store
from connector.store.tables import outbox
from tests.support.http_receiver import Reply, json_reply, receiver  # noqa: F401

T0 = datetime(2025, 3, 4, 1, 15, tzinfo=UTC)
TOKEN = "tok-91c2-never-log-me"
SETTINGS = DeliverySection(max_attempts=4, backoff_base_seconds=5, backoff_max_seconds=60, batch_size=10)
PAYLOAD = {"kind": "qty_mismatch", "expected_qty": Decimal("12.500"), "sku": "货号-1", "seen_at": T0}


@pytest.fixture
def store(tmp_path):
    opened = Store.open("sqlite:///" + str(tmp_path / "state.db"), busy_timeout=2)
    yield opened
    opened.close()


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def make_push(clock):
    built: list[HttpPushSink] = []

    def make(url: str, **fields) -> HttpPushSink:
        data = {"url": url, "token": "${PUSH_TOKEN}", "retries": 0, "timeout_seconds": "2",
                "allow_plaintext_loopback": True, **fields}
        config = HttpPushSink.Config.model_validate(data, context={"environ": {"PUSH_TOKEN": TOKEN}})
        built.append(HttpPushSink("customs", config, clock=clock))
        return built[-1]

    yield make
    for sink in built:
        sink.close()


def _enqueue(store, key: str = "d1/v1", sink: str = "customs", payload=PAYLOAD, now=T0) -> str:
    with store.begin() as conn:
        return enqueue(conn, sink=sink, event="discrepancy.opened", key=key, discrepancy_id="d1",
                       payload=payload, now=now)


def _row(store, message_id: str):
    with store.read() as conn:
        return conn.execute(select(outbox).where(outbox.c.id == message_id)).one()


def _relay(store, sinks, clock, settings=SETTINGS):
    return relay(store, sinks, settings, clock, structlog.get_logger())


def test_enqueue_same_key_twice_keeps_one_row_and_first_bytes(store):
    first = _enqueue(store)
    second = _enqueue(store, payload={**PAYLOAD, "sku": "changed"}, now=T0 + timedelta(hours=1))
    assert first == second
    with store.read() as conn:
        rows = conn.execute(select(outbox)).all()
    assert len(rows) == 1 and rows[0].body == canonical_json(PAYLOAD)


def test_enqueue_row_is_pending_with_key_equal_to_id(store):
    row = _row(store, _enqueue(store))
    assert (row.status, row.attempts, row.idempotency_key) == ("pending", 0, row.id)
    assert row.next_attempt_at == T0 and row.created_at == T0


def test_canonical_json_decimal_is_exact_text_and_keys_sorted():
    body = canonical_json({"b": Decimal("1E+2"), "a": Decimal("0.10"), "t": T0, "n": "货号"})
    assert body == '{"a":"0.10","b":"100","n":"货号","t":"2025-03-04T01:15:00+00:00"}'.encode()


@pytest.mark.parametrize("bad", [1.5, Decimal("NaN"), datetime(2025, 1, 1), {1: "x"}, {"x"},
                                 Secret(TOKEN, "${PUSH_TOKEN}")])
def test_canonical_json_unsafe_value_is_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        canonical_json({"v": bad})


def test_relay_2xx_marks_sent_with_stored_bytes_and_key(store, clock, receiver, make_push):
    message_id = _enqueue(store)
    assert _relay(store, {"customs": make_push(receiver.url)}, clock)["sent"] == 1
    row = _row(store, message_id)
    assert (row.status, row.last_status, row.sent_at, row.attempts) == ("sent", 200, T0, 1)
    [seen] = receiver.requests
    assert seen.body == row.body and seen.headers["idempotency-key"] == f'"{message_id}"'


class _Spy(Sink):
    """Wraps a sink; while the request is on the wire, reads the row and takes the write lock."""

    def __init__(self, inner: Sink, store: Store):
        self.inner, self.store, self.status_during_send = inner, store, None

    def send(self, message: OutboundMessage) -> int:
        self.status_during_send = _row(self.store, message.id).status
        with self.store.begin():  # would wait out busy_timeout if the relay held a write txn
            pass
        return self.inner.send(message)

    def check(self) -> str:
        return self.inner.check()


def test_relay_row_is_not_marked_sent_before_the_2xx_and_no_write_lock_is_held(store, clock, receiver, make_push):
    message_id = _enqueue(store)
    spy = _Spy(make_push(receiver.url), store)
    _relay(store, {"customs": spy}, clock)
    assert spy.status_during_send == "pending"
    assert _row(store, message_id).status == "sent"


def test_relay_500_then_200_resends_identical_bytes_and_key(store, clock, receiver, make_push):
    message_id = _enqueue(store)
    receiver.answer(500, 200)
    sinks = {"customs": make_push(receiver.url)}
    assert _relay(store, sinks, clock)["retry"] == 1
    row = _row(store, message_id)
    assert (row.status, row.attempts, row.last_status) == ("pending", 1, 500)
    assert T0 + timedelta(seconds=2.5) <= row.next_attempt_at <= T0 + timedelta(seconds=5)
    assert _relay(store, sinks, clock)["sent"] == 0  # not due yet
    clock.advance(seconds=5)
    assert _relay(store, sinks, clock)["sent"] == 1
    first, second = receiver.requests
    assert first.body == second.body == row.body
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == f'"{message_id}"'


def test_relay_429_retry_after_seconds_sets_next_attempt(store, clock, receiver, make_push):
    message_id = _enqueue(store)
    receiver.answer(Reply(status=429, headers={"Retry-After": "120"}))
    _relay(store, {"customs": make_push(receiver.url)}, clock)
    assert _row(store, message_id).next_attempt_at == T0 + timedelta(seconds=120)


def test_relay_503_retry_after_http_date_sets_next_attempt(store, clock, receiver, make_push):
    message_id = _enqueue(store)
    receiver.answer(Reply(status=503, headers={"Retry-After": format_datetime(T0 + timedelta(minutes=9),
                                                                              usegmt=True)}))
    _relay(store, {"customs": make_push(receiver.url)}, clock)
    assert _row(store, message_id).next_attempt_at == T0 + timedelta(minutes=9)


@pytest.mark.parametrize(("header", "seconds"), [("86400", 3600), ("0", 1)])
def test_relay_retry_after_out_of_range_is_clamped(store, clock, receiver, make_push, header, seconds):
    message_id = _enqueue(store)
    receiver.answer(Reply(status=429, headers={"Retry-After": header}))
    _relay(store, {"customs": make_push(receiver.url)}, clock)
    assert _row(store, message_id).next_attempt_at == T0 + timedelta(seconds=seconds)


def test_relay_422_makes_message_dead_without_retrying(store, clock, receiver, make_push):
    message_id = _enqueue(store)
    receiver.answer(422)
    sinks = {"customs": make_push(receiver.url)}
    with capture_logs() as logs:
        assert _relay(store, sinks, clock)["dead"] == 1
    row = _row(store, message_id)
    assert (row.status, row.last_status, row.attempts) == ("dead", 422, 1)
    assert [e["log_level"] for e in logs if e["event"] == "outbox.dead"] == ["error"]
    clock.advance(days=2)
    _relay(store, sinks, clock)
    assert len(receiver.requests) == 1


def test_relay_401_stops_the_sink_and_keeps_its_messages_pending(store, clock, receiver, make_push):
    first, second = _enqueue(store, "d1/v1"), _enqueue(store, "d2/v1", now=T0 - timedelta(seconds=1))
    receiver.answer(401)
    counts = _relay(store, {"customs": make_push(receiver.url)}, clock)
    assert (counts["paused"], counts["deferred"]) == (1, 1)
    assert {_row(store, m).status for m in (first, second)} == {"pending"}
    assert _row(store, second).last_status == 401 and _row(store, second).attempts == 0
    assert len(receiver.requests) == 1


def test_relay_hanging_receiver_times_out_and_message_stays_pending(store, clock, receiver, make_push):
    message_id = _enqueue(store)
    receiver.answer(Reply(hang=True))
    counts = _relay(store, {"customs": make_push(receiver.url, timeout_seconds="0.3")}, clock)
    row = _row(store, message_id)
    assert counts["retry"] == 1 and (row.status, row.attempts) == ("pending", 1)
    assert "timed out" in row.last_error and row.next_attempt_at > T0


def test_relay_unreachable_sink_is_tried_once_per_run(store, clock, make_push):
    for n in range(3):
        _enqueue(store, f"d{n}/v1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    counts = _relay(store, {"customs": make_push(f"http://127.0.0.1:{port}/push")}, clock)
    assert (counts["retry"], counts["deferred"]) == (1, 2)


def test_relay_max_attempts_reached_makes_message_dead(store, clock, receiver, make_push):
    message_id = _enqueue(store)
    receiver.default = Reply(status=502)
    sinks, settings = {"customs": make_push(receiver.url)}, SETTINGS.model_copy(update={"max_attempts": 2})
    _relay(store, sinks, clock, settings)
    clock.advance(minutes=5)
    with capture_logs() as logs:
        assert _relay(store, sinks, clock, settings)["dead"] == 1
    assert _row(store, message_id).status == "dead"
    [dead] = [e for e in logs if e["event"] == "outbox.dead"]
    assert (dead["log_level"], dead["reason"]) == ("error", "max_attempts")


def test_relay_unconfigured_sink_stays_pending_and_is_logged_once(store, clock):
    ids = [_enqueue(store, f"d{n}/v1", sink="ghost") for n in range(3)]
    with capture_logs() as logs:
        counts = _relay(store, {}, clock)
    assert counts["unconfigured"] == 3
    assert [e["sink"] for e in logs if e["event"] == "outbox.sink_not_configured"] == ["ghost"]
    assert {_row(store, i).status for i in ids} == {"pending"}


def test_relay_oldest_due_first_up_to_batch_size(store, clock, receiver, make_push):
    keys = [_enqueue(store, f"d{n}/v1", now=T0 - timedelta(minutes=n)) for n in range(3)]
    settings = SETTINGS.model_copy(update={"batch_size": 2})
    assert _relay(store, {"customs": make_push(receiver.url)}, clock, settings)["sent"] == 2
    assert [_row(store, k).status for k in keys] == ["pending", "sent", "sent"]


class _Broken(Sink):
    def send(self, message: OutboundMessage) -> int:
        raise KeyError("bug in a sink")

    def check(self) -> str:
        return "broken"


def test_relay_crashing_sink_keeps_message_pending(store, clock):
    message_id = _enqueue(store)
    with capture_logs():
        assert _relay(store, {"customs": _Broken()}, clock)["retry"] == 1
    assert _row(store, message_id).status == "pending"


def test_relay_token_never_in_logs_body_or_errors(store, clock, receiver, make_push):
    ids = [_enqueue(store, f"d{n}/v1") for n in range(3)]
    receiver.answer(json_reply(200, {"success": False}), 500, 401)
    sink = make_push(receiver.url, success_field="success")
    with capture_logs() as logs:
        for _ in range(3):
            _relay(store, {"customs": sink}, clock)
            clock.advance(hours=1)
    assert receiver.requests[0].headers["authorization"] == f"Bearer {TOKEN}"  # it was used
    rows = [_row(store, i) for i in ids]
    assert all(TOKEN.encode() not in r.body and TOKEN not in (r.last_error or "") for r in rows)
    assert logs and TOKEN not in repr(logs)
