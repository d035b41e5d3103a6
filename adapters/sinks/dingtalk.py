"""钉钉 (DingTalk) custom robot: markdown to `.../robot/send?access_token=T`, signed (加签).

With `secret` set (the robot's 加签 secret, `SEC...`), each attempt adds `timestamp` (ms) and
`sign` = URL-encoded base64 HMAC-SHA256 over "timestamp\\nsecret" keyed by the secret, as the
DingTalk robot documentation specifies; the robot refuses a timestamp more than an hour off. It
answers 200 with `{"errcode": 0}`; anything else is a failure, retried later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlencode

import httpx

from adapters.sinks import _chat
from adapters.sinks._http import HttpSink, HttpSinkConfig
from adapters.sinks._responses import check_code
from connector.abc import OutboundMessage
from connector.config.secrets import Secret


def sign(secret: str, timestamp_ms: int) -> str:
    """The `sign` query value (before URL encoding)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class DingtalkSink(HttpSink):
    class Config(HttpSinkConfig):
        url: str = "https://oapi.dingtalk.com/robot/send"
        access_token: Secret
        secret: Secret | None = None

    config: Config

    def request(self, message: OutboundMessage) -> tuple[str, bytes, dict[str, str]]:
        title, lines = _chat.render(message)
        body = {"msgtype": "markdown", "markdown": {"title": title[:60], "text": _chat.as_markdown(title, lines)}}
        query = {"access_token": self.config.access_token.reveal()}
        if self.config.secret is not None:
            stamp = int(self.clock.now().timestamp() * 1000)
            query.update(timestamp=str(stamp), sign=sign(self.config.secret.reveal(), stamp))
        url = f"{self.config.url}?{urlencode(query)}"
        return url, json.dumps(body, ensure_ascii=False).encode("utf-8"), {"Content-Type": "application/json"}

    def check_answer(self, response: httpx.Response, where: str) -> None:
        check_code(response, where, "errcode")
