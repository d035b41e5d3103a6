"""HTTP plumbing shared by the push and webhook sinks: one safe client, one way to read answers.

TLS is always verified (RELIABILITY.md B4): the context comes from `ssl.create_default_context`
with the operator's CA bundle, TLS 1.2 at least, optional client certificate; there is no option
to turn verification off, and plain `http://` is refused unless `allow_plaintext_loopback` is set
for a receiver on this host. Redirects are never followed, proxies never come from the environment.
Before each send the url's host is resolved and every address checked (no link-local/metadata).
A TLS failure carries an alert naming the certificate the receiver presented (subject, expiry).
A few quick in-call retries cover connection blips; the outbox owns the long retry schedule.
"""

from __future__ import annotations

import logging
import ssl
from decimal import Decimal
from pathlib import Path

import httpx
from pydantic import Field, field_validator, model_validator
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from adapters.sinks import _peer_cert
from adapters.sinks._responses import classify, ssl_failure, transport_error
from adapters.sinks._urls import (
    Resolver,
    check_plaintext,
    check_resolved,
    check_url,
    describe_url,
    system_resolver,
)
from connector.abc import OutboundMessage, Sink
from connector.clock import Clock, SystemClock
from connector.config.schema import Strict
from connector.config.secrets import Secret
from connector.errors import ConfigError, RetryableSinkError

CONNECT_SECONDS, WRITE_SECONDS, POOL_SECONDS = Decimal(5), Decimal(10), Decimal(5)
RETRY_WAIT_INITIAL_SECONDS, RETRY_WAIT_MAX_SECONDS = 0.5, 4.0


class _NoRequestLines(logging.Filter):
    """httpx logs every request line at INFO, URL included; chat-bot URLs carry their token in the
    path or query (WeCom key, DingTalk access_token, Feishu hook), so those lines are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("HTTP Request")


logging.getLogger("httpx").addFilter(_NoRequestLines())


class HttpSinkConfig(Strict):
    """What every HTTP sink needs; each sink's `Config` adds its credentials."""

    url: str
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    client_key_password: Secret | None = None
    success_field: str | None = Field(default=None, min_length=1)
    timeout_seconds: Decimal = Field(default=Decimal(30), gt=0, le=300)
    retries: int = Field(default=2, ge=0, le=5)
    allow_plaintext_loopback: bool = False

    _url = field_validator("url")(check_url)

    @model_validator(mode="after")
    def _tls_only(self) -> HttpSinkConfig:
        check_plaintext(self.url, self.allow_plaintext_loopback)
        return self

    @model_validator(mode="after")
    def _key_needs_cert(self) -> HttpSinkConfig:
        if (self.client_key or self.client_key_password) and not self.client_cert:
            raise ValueError("client_key needs client_cert")
        return self


def build_ssl_context(config: HttpSinkConfig) -> ssl.SSLContext:
    """Verifying context: system CAs, or the operator's bundle (CFCA, corporate CA)."""
    ctx = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.keylog_filename = None  # create_default_context honours SSLKEYLOGFILE; never write keys
    if config.client_cert:
        password = config.client_key_password.reveal() if config.client_key_password else None
        ctx.load_cert_chain(str(config.client_cert),
                            str(config.client_key) if config.client_key else None, password)
    return ctx


def timeouts(config: HttpSinkConfig) -> httpx.Timeout:
    """B5 #25: read = the configured timeout; the others are short and never longer than it."""
    read = config.timeout_seconds
    return httpx.Timeout(connect=float(min(CONNECT_SECONDS, read)), read=float(read),
                         write=float(min(WRITE_SECONDS, read)), pool=float(min(POOL_SECONDS, read)))


def build_client(name: str, config: HttpSinkConfig,
                 transport: httpx.BaseTransport | None = None) -> httpx.Client:
    try:
        ctx = build_ssl_context(config)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError([f"sinks.{name}: TLS files cannot be loaded: {exc}"]) from None
    return httpx.Client(verify=ctx, trust_env=False, follow_redirects=False,
                        timeout=timeouts(config), transport=transport)


def _worth_retrying_now(exc: BaseException) -> bool:
    """Connection blips, yes. Read/write timeouts and TLS failures will not heal in seconds."""
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout)):
        return False
    return isinstance(exc, httpx.TransportError) and ssl_failure(exc) is None


class HttpSink(Sink):
    """Base of the HTTP sinks: POST the stored bytes, classify the answer."""

    Config = HttpSinkConfig

    def __init__(self, name: str, config: HttpSinkConfig, transport: httpx.BaseTransport | None = None,
                 clock: Clock | None = None, resolver: Resolver | None = None):
        self.name = name
        self.config = config
        self.clock = clock or SystemClock()
        self.resolver = resolver or system_resolver
        self._client = build_client(name, config, transport)

    def headers(self, message: OutboundMessage) -> dict[str, str]:
        """Per-message headers; subclasses add keys, credentials and signatures."""
        return {"Content-Type": message.content_type}

    def request(self, message: OutboundMessage) -> tuple[str, bytes, dict[str, str]]:
        """(url, body, headers) of one attempt: by default the stored bytes to the configured url.
        Chat-bot sinks render the stored document into their own message format here."""
        return self.config.url, message.body, self.headers(message)

    def check_answer(self, response: httpx.Response, where: str) -> None:
        """After a 2xx: raise RetryableSinkError when the body says it failed (bots' errcode)."""

    def send(self, message: OutboundMessage) -> int:
        self._check_destination()
        url, body, headers = self.request(message)
        response = self._post(url, body, headers)
        where = describe_url(self.config.url)  # the configured url: never a token added to it
        status = classify(response, self.config.success_field, self.clock.now(), where=where)
        self.check_answer(response, where)
        return status

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        retrying = Retrying(
            stop=stop_after_attempt(self.config.retries + 1), reraise=True,
            retry=retry_if_exception(_worth_retrying_now),
            wait=wait_exponential_jitter(multiplier=RETRY_WAIT_INITIAL_SECONDS, max=RETRY_WAIT_MAX_SECONDS,
                                         jitter=RETRY_WAIT_INITIAL_SECONDS))
        try:
            return retrying(self._client.post, url, content=body, headers=headers)
        except httpx.TransportError as exc:
            error = transport_error(exc, self.config.url)
            if ssl_failure(exc) is not None:
                raise self._tls_failure(error) from None
            raise error from None

    def _check_destination(self) -> None:
        """Every address the host resolves to now must be safe; else nothing is sent (alerted)."""
        problem = check_resolved(self.config.url, self.resolver)
        if problem is None:
            return
        error = RetryableSinkError(f"{problem}; refused, nothing was sent")
        error.alert = {"kind": "sink_unsafe_address", "summary": f"sink {self.name}: {problem}; nothing is sent",
                       "action": "Check the sink's url and the DNS/hosts entry of its host; the messages stay "
                                 "in the outbox and are retried.",
                       "detail": {"sink": self.name, "error": str(error)[:300]}}
        raise error

    def _tls_failure(self, error: RetryableSinkError) -> RetryableSinkError:
        """Name the certificate the receiver presented (fetched unverified, only to describe it)."""
        timeout = float(min(CONNECT_SECONDS, self.config.timeout_seconds))
        cert = _peer_cert.describe_peer(self.config.url, timeout, self.clock.now())
        tls = RetryableSinkError(f"{error}; {_peer_cert.summary(cert)}")
        tls.alert = {"kind": "sink_tls_failure",
                     "summary": f"sink {self.name}: TLS failure with {describe_url(self.config.url)}; "
                                f"{_peer_cert.summary(cert)}",
                     "action": "Renew or fix the receiver's certificate, or set the sink's ca_file to the CA that "
                               "issued it; verification stays on. Messages stay in the outbox and are retried.",
                     "detail": {"sink": self.name, "error": str(error)[:300], **(cert or {})}}
        return tls

    def check(self) -> str:
        ca = self.config.ca_file or "system CAs"
        cert = f", client cert {self.config.client_cert}" if self.config.client_cert else ""
        plain = " (PLAINTEXT)" if self.config.url.lower().startswith("http:") else ""
        where = describe_url(self.config.url)
        return f"{type(self).__name__} {self.name}: POST {where}{plain}; CA {ca}{cert}"

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {describe_url(self.config.url)}>"
