"""Every receiver behaviour of RELIABILITY.md B5 25-31, end to end: outbox -> relay -> a real HTTPS
receiver on 127.0.0.1 whose certificate comes from a local CA made in the test (trustme)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import structlog
from sqlalchemy import select

from adapters.sinks.http_push import HttpPushSink
from adapters.sinks.webhook import WebhookSink
from connector.alerts import Alerter
from connector.clock import FixedClock
from connector.config.schema import DeliverySection
from connector.outbox import enqueue, relay
from connector.store.tables import outbox
from connector.store.tables_delivery import sink_state
from tests.support.http_receiver import (  # noqa: F401
    Reply,
    ca_receiver,
    ca_signed_receiver,
    json_reply,
    receiver,
)
from tests.test_outbox import T0, clock, store  # noqa: F401 (the same SQLite store and clock)

SETTINGS = DeliverySection(max_attempts=3, backoff_base_seconds=5, backoff_max_seconds=60, batch_size=20,
                           circuit_failure_threshold=3, auth_pause_seconds=600)
ROUTES = {"customs": ["discrepancy.*"], "ops": ["alert.*"]}


@pytest.fixture
def world(store, clock, ca_receiver, receiver):
    """customs: HTTPS push trusting the local CA; ops: the alert webhook (another channel)."""
    server, ca_file, _ca = ca_receiver
    push = HttpPushSink("customs", HttpPushSink.Config(url=server.url, ca_file=ca_file, retries=0,
                                                       timeout_seconds="0.5"), clock=clock)
    hook = WebhookSink("ops", WebhookSink.Config.model_validate(
        {"url": receiver.url, "secret": "${S}", "retries": 0, "allow_plaintext_loopback": True}, context={"environ": {"S": "whsec_c2VjcmV0"}}),
        clock=clock)
    yield World(store, clock, {"customs": push, "ops": hook}, server, receiver)
    push.close()
    hook.close()


class World:
    def __init__(self, store, clock, sinks, customs, ops):
        self.store, self.clock, self.sinks, self.customs, self.ops = store, clock, sinks, customs, ops

    def enqueue(self, did: str = "d1", version: int = 1, event: str = "discrepancy.opened") -> str:
        with self.store.begin() as conn:
            return enqueue(conn, sink="customs", event=event, key=f"{did}:{version}:{event}", discrepancy_id=did,
                           payload={"id": did, "version": version, "event": event}, now=self.clock.now(), seq=version)

    def relay(self, settings: DeliverySection = SETTINGS) -> dict[str, int]:
        alerter = Alerter(ROUTES, "zone-1", settings)
        return relay(self.store, self.sinks, settings, self.clock, structlog.get_logger(), alerter=alerter)

    def row(self, message_id: str):
        with self.store.read() as conn:
            return conn.execute(select(outbox).where(outbox.c.id == message_id)).one()

    def alerts(self) -> list[dict]:
        with self.store.read() as conn:
            rows = conn.execute(select(outbox.c.sink, outbox.c.body).where(outbox.c.event.like("alert.%"))).all()
        return [{"to": r.sink, **json.loads(r.body)["alert"]} for r in rows]

    def breaker(self, sink: str = "customs"):
        with self.store.read() as conn:
            return conn.execute(select(sink_state).where(sink_state.c.sink == sink)).first()


def test_2xx_over_tls_from_local_ca_is_sent(world):
    mid = world.enqueue()
    assert world.relay()["sent"] == 1
    assert world.row(mid).status == "sent" and world.customs.requests[0].headers["idempotency-key"] == f'"{mid}"'


def test_2xx_with_false_success_field_is_not_success(world):
    world.sinks["customs"].config = world.sinks["customs"].config.model_copy(update={"success_field": "success"})
    mid = world.enqueue()
    world.customs.answer(json_reply(200, {"success": False, "msg": "校验失败"}))
    assert world.relay()["retry"] == 1
    assert world.row(mid).status == "pending" and "success=False" in world.row(mid).last_error


def test_409_retries_later_without_opening_the_circuit(world):
    mid = world.enqueue()
    world.customs.answer(409, 409, 409)
    assert world.relay()["retry"] == 1
    assert world.row(mid).status == "pending" and world.breaker() is None


def test_422_makes_message_dead_alerts_and_stops_that_item_only(world):
    ids = {"d1": world.enqueue("d1", 1), "d2": world.enqueue("d2", 1)}
    world.customs.answer(422)
    counts = world.relay()
    assert (counts["dead"], counts["sent"]) == (1, 1)
    [dead] = [did for did, mid in ids.items() if world.row(mid).status == "dead"]
    [alive] = set(ids) - {dead}
    later, other = world.enqueue(dead, 2, "discrepancy.updated"), world.enqueue(alive, 2, "discrepancy.updated")
    world.clock.advance(hours=1)
    world.relay()
    assert world.row(later).status == "pending"  # the update waits for its dead open
    assert world.row(other).status == "sent"  # other items go on
    [alert] = [a for a in world.alerts() if a["kind"] == "delivery_dead"]
    assert alert["to"] == "ops" and alert["outbox_id"] == ids[dead] and "outbox retry" in alert["action"]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_5xx_and_429_back_off_with_the_same_key(world, status):
    mid = world.enqueue()
    world.customs.answer(status)
    assert world.relay()["retry"] == 1
    row = world.row(mid)
    assert row.next_attempt_at >= T0 + timedelta(seconds=2.5) and row.attempts == 1
    world.clock.advance(minutes=10)
    assert world.relay()["sent"] == 1
    keys = {r.headers["idempotency-key"] for r in world.customs.requests}
    bodies = {r.body for r in world.customs.requests}
    assert keys == {f'"{mid}"'} and len(bodies) == 1


def test_retry_after_http_date_opens_the_circuit_for_the_whole_sink(world):
    ids = [world.enqueue(f"d{n}") for n in range(3)]
    when = format_datetime(T0 + timedelta(minutes=2), usegmt=True)
    world.customs.answer(Reply(status=503, headers={"Retry-After": when}))
    counts = world.relay()
    assert (counts["retry"], counts["deferred"]) == (1, 2)
    assert world.breaker().state == "open" and world.breaker().open_until == T0 + timedelta(minutes=2)
    world.clock.advance(minutes=1)
    assert world.relay()["sent"] == 0 and len(world.customs.requests) == 1  # still open: no request
    world.clock.advance(minutes=10)
    assert world.relay()["sent"] == 3 and {world.row(i).status for i in ids} == {"sent"}
    assert world.breaker().state == "closed"


@pytest.mark.parametrize("status", [401, 403])
def test_401_403_stop_the_sink_alert_elsewhere_and_do_not_hot_loop(world, status):
    ids = [world.enqueue(f"d{n}") for n in range(3)]
    world.customs.default = Reply(status=status)
    assert world.relay()["paused"] == 1
    for _ in range(5):
        world.clock.advance(minutes=1)
        world.relay()
    assert len(world.customs.requests) == 1  # stopped: no request until auth_pause_seconds
    assert {world.row(i).status for i in ids} == {"pending"}
    [alert] = [a for a in world.alerts() if a["kind"] == "sink_unauthorized"]
    assert (alert["to"], alert["sink"]) == ("ops", "customs") and "token" in alert["action"]
    world.clock.advance(minutes=10)
    world.relay()
    assert len(world.customs.requests) == 2  # one probe after the pause, then stopped again
    assert world.ops.requests and all(r.headers["webhook-id"] for r in world.ops.requests)


def test_3xx_is_a_failure_and_is_never_followed(world):
    mid = world.enqueue()
    world.customs.answer(Reply(status=301, body=b"", headers={"Location": world.ops.url}))
    assert world.relay()["retry"] == 1
    assert world.row(mid).last_status == 301 and world.ops.requests == []


def test_410_disables_the_endpoint_and_alerts_through_another_channel(world):
    ids = [world.enqueue(f"d{n}") for n in range(2)]
    world.customs.answer(410)
    assert world.relay()["paused"] == 1
    assert world.breaker().state == "disabled"
    world.clock.advance(days=3)
    world.relay()
    assert len(world.customs.requests) == 1 and {world.row(i).status for i in ids} == {"pending"}
    [hook] = [json.loads(r.body) for r in world.ops.requests]
    assert hook["event"] == "alert.sink_disabled" and hook["alert"]["subject"] == "customs"


def test_receiver_that_accepts_and_never_answers_times_out(world):
    mid = world.enqueue()
    world.customs.answer(Reply(hang=True))
    assert world.relay()["retry"] == 1
    row = world.row(mid)
    assert row.status == "pending" and "timed out" in row.last_error and world.breaker().state == "open"


@pytest.mark.parametrize("kind", ["unknown_ca", "wrong_host", "expired"])
def test_tls_failure_fails_closed_and_keeps_the_message(store, clock, tmp_path, kind):
    from tests.support.http_receiver import local_ca

    ca, ca_file = local_ca(tmp_path)
    names = ("other.example",) if kind == "wrong_host" else ()
    server = ca_signed_receiver(ca, *names, expired=kind == "expired")
    trusted = None if kind == "unknown_ca" else ca_file
    sink = HttpPushSink("customs", HttpPushSink.Config(url=server.url, ca_file=trusted, retries=0), clock=clock)
    try:
        world = World(store, clock, {"customs": sink}, server, None)
        mid = world.enqueue()
        assert world.relay()["retry"] == 1
        assert server.requests == [] and "TLS failure" in world.row(mid).last_error
    finally:
        sink.close()
        server.stop()


def test_endpoint_failures_open_the_circuit_after_the_threshold_and_a_probe_closes_it(world):
    ids = [world.enqueue(f"d{n}") for n in range(6)]
    world.customs.answer(500, 500, 500)
    counts = world.relay()
    assert (counts["retry"], counts["deferred"]) == (3, 3) and world.breaker().state == "open"
    world.clock.advance(hours=1)
    assert world.relay()["sent"] == 6 and world.breaker().state == "closed"
    assert {world.row(i).status for i in ids} == {"sent"}


def test_max_attempts_makes_message_dead_with_an_alert_and_never_deletes_it(world):
    mid = world.enqueue()
    world.customs.default = Reply(status=500)
    for _ in range(SETTINGS.max_attempts):
        world.relay()
        world.clock.advance(hours=2)
    row = world.row(mid)
    assert (row.status, row.attempts) == ("dead", SETTINGS.max_attempts)
    assert [a["reason"] for a in world.alerts() if a["kind"] == "delivery_dead"] == ["max_attempts"]


def test_update_is_never_delivered_before_the_open_it_follows(world):
    opened = world.enqueue("d1", 1)
    updated = world.enqueue("d1", 2, "discrepancy.updated")
    world.customs.answer(503)
    world.relay()
    assert world.row(updated).status == "pending" and len(world.customs.requests) == 1
    world.clock.advance(hours=1)
    world.relay()
    world.relay()
    paths = [json.loads(r.body)["version"] for r in world.customs.requests]
    assert paths == [1, 1, 2] and world.row(opened).sent_at <= world.row(updated).sent_at


@pytest.mark.parametrize("kind", ["expired", "self_signed"])
def test_tls_failure_alerts_elsewhere_with_the_certificate_subject_and_expiry(store, tmp_path, receiver, kind):
    from tests.support.http_receiver import Receiver, local_ca, make_self_signed

    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))  # the expired certificate is judged by now
    if kind == "expired":
        ca, ca_file = local_ca(tmp_path)
        server = ca_signed_receiver(ca, expired=True)
    else:
        import ssl

        cert, key = make_self_signed(tmp_path)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        server, ca_file = Receiver(tls=ctx), None
    push = HttpPushSink("customs", HttpPushSink.Config(url=server.url, ca_file=ca_file, retries=0), clock=clock)
    hook = WebhookSink("ops", WebhookSink.Config.model_validate(
        {"url": receiver.url, "secret": "${S}", "retries": 0, "allow_plaintext_loopback": True},
        context={"environ": {"S": "whsec_c2VjcmV0"}}), clock=clock)
    try:
        world = World(store, clock, {"customs": push, "ops": hook}, server, receiver)
        mid = world.enqueue()
        world.relay()
        world.relay()  # the alert goes out through the other channel
        [alert] = [a for a in world.alerts() if a["kind"] == "sink_tls_failure"]
    finally:
        push.close()
        hook.close()
        server.stop()
    assert server.requests == [] and world.row(mid).status == "pending"
    assert alert["to"] == "ops" and alert["subject"] == "customs" and "ca_file" in alert["action"]
    assert datetime.fromisoformat(alert["cert_not_after"]).tzinfo is not None
    if kind == "expired":
        assert alert["cert_expired"] is True and "EXPIRED" in alert["summary"] and "O=connector test CA" in \
            alert["cert_issuer"]
    else:
        assert alert["cert_self_signed"] is True and alert["cert_subject"] == "CN=127.0.0.1"
    assert alert["cert_subject"] in world.row(mid).last_error
    [sent] = [json.loads(r.body) for r in receiver.requests]
    assert sent["alert"]["cert_subject"] == alert["cert_subject"]


def test_tls_failure_alert_is_not_repeated_while_the_receiver_stays_broken(store, tmp_path, receiver):
    from tests.support.http_receiver import local_ca

    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    ca, ca_file = local_ca(tmp_path)
    server = ca_signed_receiver(ca, "other.example")
    push = HttpPushSink("customs", HttpPushSink.Config(url=server.url, ca_file=ca_file, retries=0), clock=clock)
    try:
        world = World(store, clock, {"customs": push}, server, receiver)
        world.enqueue()
        for _ in range(3):
            world.relay()
            clock.advance(minutes=10)
        tls_alerts = [a for a in world.alerts() if a["kind"] == "sink_tls_failure"]
    finally:
        push.close()
        server.stop()
    assert len(tls_alerts) == 1 and "other.example" in tls_alerts[0]["cert_names"]
