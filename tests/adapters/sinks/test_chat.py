"""WeCom, DingTalk, Feishu and Slack bots against a real HTTP server on 127.0.0.1: what each posts,
how it signs, where its token goes, and how it reads the bot's answer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from structlog.testing import capture_logs

from adapters.sinks.dingtalk import DingtalkSink
from adapters.sinks.feishu import FeishuSink
from adapters.sinks.slack import SlackSink
from adapters.sinks.wecom import WecomSink
from connector.abc import OutboundMessage
from connector.clock import FixedClock
from connector.errors import RetryableSinkError
from connector.outbox import canonical_json
from tests.support.http_receiver import json_reply, receiver  # noqa: F401

NOW = datetime(2025, 3, 4, 1, 15, 30, tzinfo=UTC)
SECRETS = {"BOT_TOKEN": "tok-bot-4f1c", "BOT_SECRET": "SECa1b2c3-sign"}
ALERT = {"schema": "bonded-connector/alert", "site": "zone-1", "event": "alert.sink_disabled",
         "alert": {"kind": "sink_disabled", "subject": "customs", "summary": "sink customs answered 410",
                   "action": "Fix the sink's url, then `connector outbox retry --sink customs`.",
                   "sink": "customs", "status": 410}}
DISCREPANCY = {"schema": "bonded-connector/supervision", "site": "zone-1", "event": "discrepancy.opened",
               "discrepancy": {"id": "d1", "kind": "balance_mismatch", "kind_label": "账货差异", "status": "open",
                               "version": 1, "expected_qty": "10", "actual_qty": "8", "delta_qty": "-2",
                               "unit": "007", "doc_refs": ["QD311124I000067486"]},
               "item": {"bwsNo": "T3111W000076", "gdsSeqno": 2255, "gdsMtno": "LAMP-01", "dclUnitcd": "007"}}


def _message(doc: dict) -> OutboundMessage:
    return OutboundMessage(id="c" * 64, idempotency_key="c" * 64, body=canonical_json(doc),
                           content_type="application/json", event=doc["event"])


@pytest.fixture
def build():
    built = []

    def make(cls, **fields):
        fields = {"allow_plaintext_loopback": True, **fields}  # the receiver is http://127.0.0.1
        config = cls.Config.model_validate(fields, context={"environ": SECRETS})
        built.append(cls("bot", config, clock=FixedClock(NOW)))
        return built[-1]

    yield make
    for sink in built:
        sink.close()


def test_wecom_posts_markdown_with_key_in_query_and_accepts_errcode_0(receiver, build):
    receiver.answer(json_reply(200, {"errcode": 0, "errmsg": "ok"}))
    sink = build(WecomSink, url=receiver.url_for("/cgi-bin/webhook/send"), key="${BOT_TOKEN}", retries=0)
    assert sink.send(_message(ALERT)) == 200
    [seen] = receiver.requests
    assert parse_qs(urlsplit(seen.path).query) == {"key": ["tok-bot-4f1c"]}
    body = json.loads(seen.body)
    assert body["msgtype"] == "markdown" and "outbox retry --sink customs" in body["markdown"]["content"]


def test_wecom_nonzero_errcode_is_a_failure_and_hides_the_key(receiver, build):
    receiver.answer(json_reply(200, {"errcode": 93000, "errmsg": "invalid webhook url"}))
    sink = build(WecomSink, url=receiver.url_for("/cgi-bin/webhook/send"), key="${BOT_TOKEN}", retries=0)
    with capture_logs() as logs, pytest.raises(RetryableSinkError) as caught:
        sink.send(_message(ALERT))
    assert "93000" in str(caught.value) and "tok-bot-4f1c" not in str(caught.value) + repr(logs)


def test_dingtalk_signs_the_url_as_documented(receiver, build):
    receiver.answer(json_reply(200, {"errcode": 0, "errmsg": "ok"}))
    sink = build(DingtalkSink, url=receiver.url_for("/robot/send"), access_token="${BOT_TOKEN}",
                 secret="${BOT_SECRET}", retries=0)
    assert sink.send(_message(DISCREPANCY)) == 200
    query = parse_qs(urlsplit(receiver.requests[0].path).query)
    stamp = query["timestamp"][0]
    assert stamp == str(int(NOW.timestamp() * 1000)) and query["access_token"] == ["tok-bot-4f1c"]
    secret = SECRETS["BOT_SECRET"]
    expected = base64.b64encode(hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest())
    assert query["sign"] == [expected.decode()]
    text = json.loads(receiver.requests[0].body)["markdown"]["text"]
    assert "T3111W000076" in text and "账货差异" in text


def test_feishu_signs_the_body_and_puts_the_token_in_the_path(receiver, build):
    receiver.answer(json_reply(200, {"code": 0, "msg": "success"}))
    sink = build(FeishuSink, url=receiver.url_for("/open-apis/bot/v2/hook"), hook_token="${BOT_TOKEN}",
                 secret="${BOT_SECRET}", retries=0)
    assert sink.send(_message(ALERT)) == 200
    [seen] = receiver.requests
    body = json.loads(seen.body)
    assert seen.path == "/open-apis/bot/v2/hook/tok-bot-4f1c" and body["msg_type"] == "text"
    key = f"{body['timestamp']}\n{SECRETS['BOT_SECRET']}".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def test_feishu_error_code_is_a_failure_without_the_token_in_the_error(receiver, build):
    receiver.answer(json_reply(200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}))
    sink = build(FeishuSink, url=receiver.url_for("/hook"), hook_token="${BOT_TOKEN}", retries=0)
    with pytest.raises(RetryableSinkError) as caught:
        sink.send(_message(ALERT))
    assert "19021" in str(caught.value) and "tok-bot-4f1c" not in str(caught.value)


def test_slack_posts_text_to_the_secret_path(receiver, build):
    sink = build(SlackSink, url=receiver.url_for("/services"), webhook_path="${BOT_TOKEN}", retries=0)
    assert sink.send(_message(ALERT)) == 200
    [seen] = receiver.requests
    assert seen.path == "/services/tok-bot-4f1c" and "sink_disabled" in json.loads(seen.body)["text"]


def test_chat_text_says_what_to_do_next(receiver, build):
    receiver.answer(json_reply(200, {"errcode": 0}))
    build(WecomSink, url=receiver.url_for("/w"), key="${BOT_TOKEN}", retries=0).send(_message(ALERT))
    content = json.loads(receiver.requests[0].body)["markdown"]["content"]
    assert "next:" in content and "Fix the sink's url" in content


def test_every_sink_key_is_documented_in_config_example():
    import re
    from pathlib import Path

    from adapters.sinks.http_push import HttpPushSink
    from adapters.sinks.smtp import SmtpSink

    text = (Path(__file__).resolve().parents[3] / "config.example.toml").read_text(encoding="utf-8")
    documented = set(re.findall(r"(?m)^#?\s*([a-z_]+)\s*=", text))
    for cls in (HttpPushSink, WecomSink, DingtalkSink, FeishuSink, SlackSink, SmtpSink):
        assert set(cls.Config.model_fields) <= documented, cls.__name__
