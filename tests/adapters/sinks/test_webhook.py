"""WebhookSink against a real HTTP server; signatures checked by an independent HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from adapters.sinks.webhook import WebhookSink, sign, signing_key
from connector.abc import OutboundMessage
from connector.clock import FixedClock
from connector.errors import RejectedSinkError
from tests.support.http_receiver import receiver  # noqa: F401

RAW_KEY = b"\x01\x02 a webhook key \xfe\xff"
WHSEC = "whsec_" + base64.b64encode(RAW_KEY).decode()
NOW = datetime(2025, 3, 4, 1, 15, 30, tzinfo=UTC)
MESSAGE = OutboundMessage(id="b" * 64, idempotency_key="b" * 64, event="alert.held",
                          body='{"alert":"已暂停","n":"3"}'.encode(), content_type="application/json")


@pytest.fixture
def make_sink():
    built: list[WebhookSink] = []

    def make(url: str, secret: str = WHSEC, **fields) -> WebhookSink:
        data = {"url": url, "secret": "${HOOK_SECRET}", "retries": 0, "timeout_seconds": "2",
                "allow_plaintext_loopback": True, **fields}
        config = WebhookSink.Config.model_validate(data, context={"environ": {"HOOK_SECRET": secret}})
        built.append(WebhookSink("alerts", config, clock=FixedClock(NOW)))
        return built[-1]

    yield make
    for sink in built:
        sink.close()


def _expected(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(key, msg_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def test_send_whsec_signature_verifies_with_independent_hmac(receiver, make_sink):
    assert make_sink(receiver.url).send(MESSAGE) == 200
    [seen] = receiver.requests
    assert seen.body == MESSAGE.body
    assert seen.headers["webhook-id"] == MESSAGE.id
    assert seen.headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    expected = _expected(RAW_KEY, seen.headers["webhook-id"], seen.headers["webhook-timestamp"], seen.body)
    assert hmac.compare_digest(seen.headers["webhook-signature"], expected)


def test_send_raw_text_secret_is_used_as_utf8_key(receiver, make_sink):
    make_sink(receiver.url, secret="plain shared secret").send(MESSAGE)
    [seen] = receiver.requests
    expected = _expected(b"plain shared secret", MESSAGE.id, seen.headers["webhook-timestamp"], MESSAGE.body)
    assert seen.headers["webhook-signature"] == expected


def test_send_body_changed_in_transit_does_not_verify(receiver, make_sink):
    make_sink(receiver.url).send(MESSAGE)
    [seen] = receiver.requests
    forged = _expected(RAW_KEY, MESSAGE.id, seen.headers["webhook-timestamp"], seen.body + b" ")
    assert seen.headers["webhook-signature"] != forged


def test_sign_standard_webhooks_spec_vector_matches():
    key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_send_410_raises_rejected(receiver, make_sink):
    receiver.answer(410)
    with pytest.raises(RejectedSinkError):
        make_sink(receiver.url).send(MESSAGE)


def test_config_literal_secret_is_refused():
    with pytest.raises(ValidationError, match="literal secret"):
        WebhookSink.Config.model_validate({"url": "https://hooks.example.com", "secret": WHSEC})


def test_config_whsec_secret_with_bad_base64_is_refused():
    with pytest.raises(ValidationError, match="base64"):
        WebhookSink.Config.model_validate({"url": "https://hooks.example.com", "secret": "${S}"},
                                          context={"environ": {"S": "whsec_not*base64"}})


def test_config_link_local_url_is_refused():
    with pytest.raises(ValidationError, match="link-local"):
        WebhookSink.Config.model_validate({"url": "http://169.254.169.254/hook", "secret": "${S}"},
                                          context={"environ": {"S": WHSEC}})


def test_send_verifies_with_the_reference_standardwebhooks_package(receiver):
    from standardwebhooks.webhooks import Webhook

    from connector.clock import SystemClock

    config = WebhookSink.Config.model_validate({"url": receiver.url, "secret": "${HOOK_SECRET}", "retries": 0,
                                                "allow_plaintext_loopback": True},
                                               context={"environ": {"HOOK_SECRET": WHSEC}})
    sink = WebhookSink("alerts", config, clock=SystemClock())  # the verifier checks the timestamp (±5 min)
    try:
        sink.send(MESSAGE)
    finally:
        sink.close()
    [seen] = receiver.requests
    headers = {k: seen.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    assert Webhook(WHSEC).verify(seen.body, headers) == {"alert": "已暂停", "n": "3"}
