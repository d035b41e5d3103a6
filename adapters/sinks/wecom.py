"""企业微信 (WeCom) group robot: markdown to `.../cgi-bin/webhook/send?key=KEY`.

The robot key is a secret (anyone holding it can post to the group), so it is a secret field
and the url is only the endpoint. The robot answers 200 with `{"errcode": 0, "errmsg": "ok"}`;
any other errcode (e.g. 45009 rate limited, 93000 invalid key) is a failure, retried later.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx

from adapters.sinks import _chat
from adapters.sinks._http import HttpSink, HttpSinkConfig
from adapters.sinks._responses import check_code
from connector.abc import OutboundMessage
from connector.config.secrets import Secret

CONTENT_LIMIT = 4000  # the robot refuses markdown content over 4096 bytes


class WecomSink(HttpSink):
    class Config(HttpSinkConfig):
        url: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
        key: Secret

    config: Config

    def request(self, message: OutboundMessage) -> tuple[str, bytes, dict[str, str]]:
        content = _chat.as_markdown(*_chat.render(message)).encode("utf-8")[:CONTENT_LIMIT]
        body = {"msgtype": "markdown", "markdown": {"content": content.decode("utf-8", errors="ignore")}}
        url = f"{self.config.url}?{urlencode({'key': self.config.key.reveal()})}"
        return url, json.dumps(body, ensure_ascii=False).encode("utf-8"), {"Content-Type": "application/json"}

    def check_answer(self, response: httpx.Response, where: str) -> None:
        check_code(response, where, "errcode")
