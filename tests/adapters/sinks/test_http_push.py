"""HttpPushSink against a real HTTP(S) server on 127.0.0.1 (no mock transport)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pydantic import ValidationError

from adapters.sinks.http_push import HttpPushSink
from connector.abc import OutboundMessage
from connector.clock import FixedClock
from connector.errors import ConfigError, RejectedSinkError, RetryableSinkError
from tests.support.http_receiver import Reply, json_reply, receiver, tls_receiver  # noqa: F401

TOKEN = "tok-7f3a-very-secret"
NOW = datetime(2025, 3, 4, 1, 15, tzinfo=UTC)
MESSAGE = OutboundMessage(id="a" * 64, idempotency_key="a" * 64, event="discrepancy.opened",
                          body='{"qty":"1.50","sku":"货号-1"}'.encode(), content_type="application/json")


@pytest.fixture
def make_sink():
    """Build sinks from config dicts the way the loader does; close them all at teardown."""
    built: list[HttpPushSink] = []

    def make(url: str, **fields) -> HttpPushSink:
        data = {"url": url, "retries": 0, "timeout_seconds": "2", "allow_plaintext_loopback": True, **fields}
        config = HttpPushSink.Config.model_validate(data, context={"environ": {"PUSH_TOKEN": TOKEN}})
        built.append(HttpPushSink("customs", config, clock=FixedClock(NOW)))
        return built[-1]

    yield make
    for sink in built:
        sink.close()


def test_send_2xx_posts_stored_bytes_with_key_and_token(receiver, make_sink):
    sink = make_sink(receiver.url, token="${PUSH_TOKEN}")
    assert sink.send(MESSAGE) == 200
    [seen] = receiver.requests
    assert seen.method == "POST" and seen.body == MESSAGE.body
    assert seen.headers["idempotency-key"] == f'"{"a" * 64}"'
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["content-type"] == "application/json"


def test_send_3xx_raises_retryable_and_is_not_followed(receiver, make_sink):
    receiver.answer(Reply(status=302, body=b"", headers={"Location": receiver.url_for("/elsewhere")}))
    with pytest.raises(RetryableSinkError) as caught:
        make_sink(receiver.url).send(MESSAGE)
    assert caught.value.status == 302
    assert [r.path for r in receiver.requests] == ["/push"]


@pytest.mark.parametrize("body", [b'{"success": false, "msg": "bad"}', b'{"success": "true"}',
                                  b"<html>ok</html>", b"", b'["success"]'])
def test_send_2xx_without_true_success_field_raises_retryable(receiver, make_sink, body):
    receiver.answer(Reply(status=200, body=body))
    with pytest.raises(RetryableSinkError, match="success="):
        make_sink(receiver.url, success_field="success").send(MESSAGE)


def test_send_2xx_with_success_true_returns_status_when_success_field_set(receiver, make_sink):
    receiver.answer(json_reply(201, {"success": True}))
    assert make_sink(receiver.url, success_field="success").send(MESSAGE) == 201


def test_send_2xx_error_body_succeeds_when_success_field_not_set(receiver, make_sink):
    receiver.answer(json_reply(200, {"success": False}))
    assert make_sink(receiver.url).send(MESSAGE) == 200


@pytest.mark.parametrize("status", [408, 409, 425, 429, 500, 502, 503, 504])
def test_send_transient_status_raises_retryable(receiver, make_sink, status):
    receiver.answer(status)
    with pytest.raises(RetryableSinkError) as caught:
        make_sink(receiver.url).send(MESSAGE)
    assert caught.value.status == status


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422])
def test_send_permanent_status_raises_rejected(receiver, make_sink, status):
    receiver.answer(status)
    with pytest.raises(RejectedSinkError) as caught:
        make_sink(receiver.url).send(MESSAGE)
    assert caught.value.status == status


def test_send_retry_after_seconds_is_parsed(receiver, make_sink):
    receiver.answer(Reply(status=429, headers={"Retry-After": "120"}))
    with pytest.raises(RetryableSinkError) as caught:
        make_sink(receiver.url).send(MESSAGE)
    assert caught.value.retry_after == 120


def test_send_retry_after_http_date_is_parsed_against_clock(receiver, make_sink):
    when = format_datetime(NOW + timedelta(minutes=7), usegmt=True)
    receiver.answer(Reply(status=503, headers={"Retry-After": when}))
    with pytest.raises(RetryableSinkError) as caught:
        make_sink(receiver.url).send(MESSAGE)
    assert caught.value.retry_after == 420


def test_send_garbled_retry_after_gives_no_advice(receiver, make_sink):
    receiver.answer(Reply(status=503, headers={"Retry-After": "soon-ish"}))
    with pytest.raises(RetryableSinkError) as caught:
        make_sink(receiver.url).send(MESSAGE)
    assert caught.value.retry_after is None


def test_send_hanging_receiver_raises_retryable_timeout(receiver, make_sink):
    receiver.answer(Reply(hang=True))
    with pytest.raises(RetryableSinkError, match="timed out") as caught:
        make_sink(receiver.url, timeout_seconds="0.3", retries=2).send(MESSAGE)
    assert caught.value.status is None
    assert len(receiver.requests) == 1  # a read timeout is not retried inside the call


def test_send_dropped_connection_is_retried_within_the_call(receiver, make_sink):
    receiver.answer(Reply(drop=True), 200)
    assert make_sink(receiver.url, retries=1).send(MESSAGE) == 200
    assert [r.body for r in receiver.requests] == [MESSAGE.body, MESSAGE.body]


def test_send_refused_connection_raises_retryable(make_sink):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RetryableSinkError, match="cannot reach"):
        make_sink(f"http://127.0.0.1:{port}/push").send(MESSAGE)


def test_send_self_signed_certificate_fails_closed(tls_receiver, make_sink):
    server, _ca = tls_receiver
    with pytest.raises(RetryableSinkError, match="TLS failure"):
        make_sink(server.url, retries=2).send(MESSAGE)
    assert server.requests == []


def test_send_with_ca_file_trusts_private_ca(tls_receiver, make_sink):
    server, ca = tls_receiver
    assert make_sink(server.url, ca_file=str(ca)).send(MESSAGE) == 200
    assert server.requests[0].body == MESSAGE.body


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest", "https://[fe80::1]/x",
                                 "http://metadata.google.internal/", "http://100.100.100.200/x",
                                 "https://user:pw@example.com/x", "ftp://example.com/x", "https:///x"])
def test_config_dangerous_url_is_refused(url):
    with pytest.raises(ValidationError):
        HttpPushSink.Config.model_validate({"url": url})


def test_config_literal_token_is_refused():
    with pytest.raises(ValidationError, match="literal secret"):
        HttpPushSink.Config.model_validate({"url": "https://example.com", "token": TOKEN})


def test_config_verify_option_does_not_exist():
    with pytest.raises(ValidationError, match="verify"):
        HttpPushSink.Config.model_validate({"url": "https://example.com", "verify": False})


def test_check_describes_endpoint_without_query_or_token(make_sink):
    sink = make_sink("https://push.example.com:8443/api?appkey=k123", token="${PUSH_TOKEN}")
    text = sink.check()
    assert "https://push.example.com:8443/api" in text
    assert "k123" not in text and TOKEN not in text and TOKEN not in repr(sink)


def test_init_missing_ca_file_raises_config_error(tmp_path):
    config = HttpPushSink.Config(url="https://example.com", ca_file=tmp_path / "missing.pem")
    with pytest.raises(ConfigError, match="TLS files"):
        HttpPushSink("customs", config)


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "hmac-sm3"])
def test_send_signs_key_timestamp_and_body_with_the_configured_hmac(receiver, make_sink, algorithm):
    from adapters.sinks.signing import verify

    sink = make_sink(receiver.url, signing_key="${PUSH_TOKEN}", signing_algorithm=algorithm)
    sink.send(MESSAGE)
    [seen] = receiver.requests
    header, stamp = seen.headers["x-signature"], int(seen.headers["x-signature-timestamp"])
    assert header.startswith(f"{algorithm}=") and stamp == int(NOW.timestamp())
    assert verify(header, TOKEN.encode(), MESSAGE.idempotency_key, stamp, seen.body)
    assert not verify(header, TOKEN.encode(), MESSAGE.idempotency_key, stamp, seen.body + b" ")


def test_hmac_sm3_matches_an_independent_implementation():
    import hashlib
    import hmac as std_hmac

    from adapters.sinks.signing import mac

    if "sm3" not in hashlib.algorithms_available:
        pytest.skip("OpenSSL here has no SM3 in hashlib")
    assert mac("hmac-sm3", b"key", b"abc") == std_hmac.new(b"key", b"abc", "sm3").digest()


def test_config_unknown_signing_algorithm_is_refused():
    with pytest.raises(ValidationError, match="signing_algorithm"):
        HttpPushSink.Config.model_validate({"url": "https://example.com", "signing_algorithm": "md5"})
