"""Slack incoming webhook: `{"text": ...}` to `https://hooks.slack.com/services/<T>/<B>/<secret>`.

The path after `services/` is the credential, so it is the secret field `webhook_path`. Slack
answers 200 `ok`; errors come as 4xx with a text reason (`invalid_payload`, `no_service`, 410
`channel_is_archived`), which the relay's receiver semantics handle like any other sink.
"""

from __future__ import annotations

import json

from adapters.sinks import _chat
from adapters.sinks._http import HttpSink, HttpSinkConfig
from connector.abc import OutboundMessage
from connector.config.secrets import Secret


class SlackSink(HttpSink):
    class Config(HttpSinkConfig):
        url: str = "https://hooks.slack.com/services"
        webhook_path: Secret

    config: Config

    def request(self, message: OutboundMessage) -> tuple[str, bytes, dict[str, str]]:
        title, lines = _chat.render(message)
        text = "\n".join([f"*{title}*", *lines])
        url = f"{self.config.url.rstrip('/')}/{self.config.webhook_path.reveal().strip('/')}"
        return url, json.dumps({"text": text}, ensure_ascii=False).encode("utf-8"), {"Content-Type": "application/json"}
