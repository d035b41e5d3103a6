"""飞书 (Feishu) / Lark custom bot: text to `.../open-apis/bot/v2/hook/<token>`, signed.

The hook token is a secret (it is the path), so `url` is the hook base and `hook_token` the
secret. With `secret` set (签名校验), the body carries `timestamp` (s) and `sign` = base64
HMAC-SHA256 with key "timestamp\\nsecret" over an empty message, as Feishu documents. The bot
answers `{"code": 0}` (older: `{"StatusCode": 0}`); anything else is a failure. For Lark set
`url = "https://open.larksuite.com/open-apis/bot/v2/hook"`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx

from adapters.sinks import _chat
from adapters.sinks._http import HttpSink, HttpSinkConfig
from adapters.sinks._responses import check_code
from connector.abc import OutboundMessage
from connector.config.secrets import Secret


def sign(secret: str, timestamp: int) -> str:
    key = f"{timestamp}\n{secret}".encode("utf-8")
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


class FeishuSink(HttpSink):
    class Config(HttpSinkConfig):
        url: str = "https://open.feishu.cn/open-apis/bot/v2/hook"
        hook_token: Secret
        secret: Secret | None = None

    config: Config

    def request(self, message: OutboundMessage) -> tuple[str, bytes, dict[str, str]]:
        body: dict = {"msg_type": "text", "content": {"text": _chat.as_text(*_chat.render(message))}}
        if self.config.secret is not None:
            stamp = int(self.clock.now().timestamp())
            body.update(timestamp=str(stamp), sign=sign(self.config.secret.reveal(), stamp))
        url = f"{self.config.url.rstrip('/')}/{self.config.hook_token.reveal()}"
        return url, json.dumps(body, ensure_ascii=False).encode("utf-8"), {"Content-Type": "application/json"}

    def check_answer(self, response: httpx.Response, where: str) -> None:
        check_code(response, where, "code", "StatusCode")
