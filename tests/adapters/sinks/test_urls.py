"""Sink URL safety: TLS only (with a loopback-only opt-in), and link-local/metadata addresses refused
at configuration time and again, after resolving the host name, at send time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from adapters.sinks._urls import check_resolved, system_resolver
from adapters.sinks.http_push import HttpPushSink
from adapters.sinks.wecom import WecomSink
from connector.abc import OutboundMessage
from connector.clock import FixedClock
from connector.errors import RetryableSinkError
from tests.support.http_receiver import receiver  # noqa: F401

MESSAGE = OutboundMessage(id="e" * 64, idempotency_key="e" * 64, event="discrepancy.opened",
                          body=b'{"qty":"1"}', content_type="application/json")


def _fake_dns(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"{host}: name does not resolve")
        return table[host]
    return resolve


def test_config_plain_http_is_refused_by_default():
    with pytest.raises(ValidationError, match="https://"):
        HttpPushSink.Config(url="http://supervision.example/push")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/push", "http://[::1]:8080/push", "http://localhost/push"])
def test_config_plain_http_with_opt_in_on_loopback_is_accepted(url):
    assert HttpPushSink.Config(url=url, allow_plaintext_loopback=True).url == url


@pytest.mark.parametrize("url", ["http://10.0.0.5/push", "http://supervision.example/push",
                                 "http://127.0.0.1.example/push"])
def test_config_plain_http_with_opt_in_elsewhere_is_refused(url):
    with pytest.raises(ValidationError, match="allow_plaintext_loopback covers"):
        HttpPushSink.Config(url=url, allow_plaintext_loopback=True)


def test_config_chat_sink_plain_http_is_refused_by_default():
    with pytest.raises(ValidationError, match="https://"):
        WecomSink.Config.model_validate({"url": "http://qyapi.weixin.qq.com/cgi-bin/webhook/send", "key": "${K}"},
                                        context={"environ": {"K": "k"}})


@pytest.mark.parametrize("url", ["https://127.0.0.1/x", "https://localhost/x", "https://[::1]/x"])
def test_resolved_loopback_literals_are_safe(url):
    assert check_resolved(url) is None  # real getaddrinfo


@pytest.mark.parametrize("url", ["https://169.254.169.254/latest", "https://[fe80::1]/x",
                                 "https://[::ffff:169.254.169.254]/x", "https://100.100.100.200/x"])
def test_resolved_unsafe_literals_are_refused(url):
    assert check_resolved(url, system_resolver) is not None  # real getaddrinfo on literal addresses


def test_resolved_name_with_one_link_local_address_is_refused():
    dns = _fake_dns({"push.customs.example": ["10.1.2.3", "169.254.169.254"]})
    assert "link-local" in check_resolved("https://push.customs.example/api", dns)


def test_resolved_name_with_only_private_addresses_is_accepted():
    dns = _fake_dns({"push.customs.example": ["10.1.2.3", "fd12::5"]})
    assert check_resolved("https://push.customs.example/api", dns) is None


def test_resolved_name_that_does_not_resolve_is_left_to_the_connection():
    assert check_resolved("https://nowhere.example/api", _fake_dns({})) is None


def test_send_to_name_resolving_to_metadata_sends_nothing_and_carries_an_alert(receiver):  # noqa: F811
    port = receiver.server.server_address[1]
    config = HttpPushSink.Config(url=f"http://localhost:{port}/push", allow_plaintext_loopback=True, retries=0)
    dns = _fake_dns({"localhost": ["127.0.0.1", "169.254.169.254"]})
    sink = HttpPushSink("customs", config, clock=FixedClock(datetime(2025, 3, 4, tzinfo=UTC)), resolver=dns)
    try:
        with pytest.raises(RetryableSinkError, match="link-local") as info:
            sink.send(MESSAGE)
    finally:
        sink.close()
    assert receiver.requests == []
    assert info.value.alert["kind"] == "sink_unsafe_address" and "customs" in info.value.alert["summary"]
