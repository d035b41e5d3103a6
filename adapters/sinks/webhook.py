"""Alert webhooks, signed the Standard Webhooks way so receivers can check who sent them.

`webhook-id` is the outbox id (the receiver's dedupe key), `webhook-timestamp` is unix seconds
from the injected clock, and `webhook-signature` is `v1,` + base64 HMAC-SHA256 over
`id.timestamp.body` (standard-webhooks spec; reference verifier `standardwebhooks` 1.1.0).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import httpx
from pydantic import model_validator

from adapters.sinks._http import HttpSink, HttpSinkConfig
from adapters.sinks._urls import Resolver
from connector.abc import OutboundMessage
from connector.clock import Clock
from connector.config.secrets import Secret

SECRET_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """`whsec_<base64>` is the spec's form; any other text is used as raw UTF-8 key bytes."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
        except binascii.Error:
            raise ValueError("a whsec_ secret must be base64 after the prefix") from None
    return secret.encode("utf-8")


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value for one message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


class WebhookSink(HttpSink):
    """POSTs alerts with Standard Webhooks headers."""

    class Config(HttpSinkConfig):
        secret: Secret

        @model_validator(mode="after")
        def _secret_usable(self) -> WebhookSink.Config:
            if not signing_key(self.secret.reveal()):
                raise ValueError("secret is empty")
            return self

    config: Config

    def __init__(self, name: str, config: Config, transport: httpx.BaseTransport | None = None,
                 clock: Clock | None = None, resolver: Resolver | None = None):
        super().__init__(name, config, transport=transport, clock=clock, resolver=resolver)
        self._key = signing_key(config.secret.reveal())

    def headers(self, message: OutboundMessage) -> dict[str, str]:
        timestamp = int(self.clock.now().timestamp())
        headers = super().headers(message)
        headers["webhook-id"] = message.id
        headers["webhook-timestamp"] = str(timestamp)
        headers["webhook-signature"] = sign(self._key, message.id, timestamp, message.body)
        return headers
