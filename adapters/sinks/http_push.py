"""Push to the customs supervision platform (or the vendor gateway in front of it) over HTTP.

Every attempt carries the same bytes and `Idempotency-Key: "<outbox id>"`, an RFC 8941 String as
draft-ietf-httpapi-idempotency-key-header asks, so the receiver can drop a retried duplicate.
With `signing_key` set, each attempt is signed (`X-Signature-Timestamp`, `X-Signature`) with
HMAC-SHA256 or HMAC-SM3 (adapters/sinks/signing.py; docs/push-schema.md).
"""

from __future__ import annotations

import httpx

from adapters.sinks import signing
from adapters.sinks._http import HttpSink, HttpSinkConfig
from adapters.sinks._urls import Resolver
from connector.abc import OutboundMessage
from connector.clock import Clock
from connector.config.secrets import Secret


def sf_string(value: str) -> str:
    """Serialise an RFC 8941 sf-string: printable ASCII, quotes and backslashes escaped."""
    if any(not (0x20 <= ord(c) <= 0x7E) for c in value):
        raise ValueError("an Idempotency-Key must be printable ASCII")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class HttpPushSink(HttpSink):
    """POSTs each outbox message, with a bearer token and a signature when configured."""

    class Config(HttpSinkConfig):
        token: Secret | None = None
        signing_key: Secret | None = None
        signing_algorithm: signing.Algorithm = "hmac-sha256"

    config: Config

    def __init__(self, name: str, config: Config, transport: httpx.BaseTransport | None = None,
                 clock: Clock | None = None, resolver: Resolver | None = None):
        super().__init__(name, config, transport=transport, clock=clock, resolver=resolver)

    def headers(self, message: OutboundMessage) -> dict[str, str]:
        headers = super().headers(message)
        headers["Idempotency-Key"] = sf_string(message.idempotency_key)
        if self.config.token is not None:
            headers["Authorization"] = f"Bearer {self.config.token.reveal()}"
        if self.config.signing_key is not None:
            timestamp = int(self.clock.now().timestamp())
            key = self.config.signing_key.reveal().encode("utf-8")
            headers["X-Signature-Timestamp"] = str(timestamp)
            headers["X-Signature"] = signing.signature(self.config.signing_algorithm, key,
                                                       message.idempotency_key, timestamp, message.body)
        return headers
