"""SmtpSink against a real SMTP server on 127.0.0.1 (aiosmtpd) with STARTTLS from a local CA."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime

import pytest

from adapters.sinks.smtp import SmtpSink
from connector.abc import OutboundMessage
from connector.clock import FixedClock
from connector.errors import RejectedSinkError, RetryableSinkError
from connector.outbox import canonical_json
from tests.support.http_receiver import local_ca

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
from aiosmtpd.smtp import AuthResult  # noqa: E402

NOW = datetime(2025, 3, 4, 1, 15, tzinfo=UTC)
PASSWORD = "smtp-pw-never-logged"
ALERT = {"site": "zone-1", "event": "alert.delivery_dead",
         "alert": {"kind": "delivery_dead", "subject": "x", "summary": "message to customs is dead",
                   "action": "re-queue: `connector outbox retry x`", "sink": "customs"}}
MESSAGE = OutboundMessage(id="e" * 64, idempotency_key="e" * 64, body=canonical_json(ALERT),
                          content_type="application/json", event="alert.delivery_dead")


class Handler:
    def __init__(self):
        self.mails: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(envelope.content.decode("utf-8", errors="replace"))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _authenticate(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=getattr(auth_data, "password", b"") == PASSWORD.encode(), handled=False)


@pytest.fixture
def smtp_server(tmp_path):
    ca, ca_file = local_ca(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    handler = Handler()
    controller = aiosmtpd_controller.Controller(handler, hostname="127.0.0.1", port=_free_port(), tls_context=ctx,
                                                require_starttls=True, authenticator=_authenticate,
                                                auth_require_tls=True)
    controller.start()
    try:
        yield controller, handler, ca_file
    finally:
        controller.stop()


def _sink(controller, ca_file, **fields) -> SmtpSink:
    data = {"host": "127.0.0.1", "port": controller.port, "sender": "connector@zone.example",
            "recipients": ["duty@zone.example"], "ca_file": str(ca_file) if ca_file else None,
            "timeout_seconds": 5, **fields}
    return SmtpSink("mail", SmtpSink.Config.model_validate(data, context={"environ": {"SMTP_PW": PASSWORD, "BAD_PW": "wrong"}}),
                    clock=FixedClock(NOW))


def test_send_over_starttls_delivers_one_mail_with_message_id_from_outbox_id(smtp_server):
    controller, handler, ca_file = smtp_server
    assert _sink(controller, ca_file, username="connector", password="${SMTP_PW}").send(MESSAGE) == 250
    [mail] = handler.mails
    assert f"Message-ID: <{'e' * 64}@bonded-connector>" in mail
    assert "delivery_dead" in mail and "connector outbox retry" in mail and PASSWORD not in mail


def test_send_to_server_with_unknown_ca_fails_closed(smtp_server):
    controller, handler, _ca = smtp_server
    with pytest.raises(RetryableSinkError, match="TLS failure"):
        _sink(controller, None).send(MESSAGE)
    assert handler.mails == []


def test_send_with_wrong_password_is_an_auth_stop(smtp_server):
    controller, _handler, ca_file = smtp_server
    with pytest.raises(RejectedSinkError) as caught:
        _sink(controller, ca_file, username="connector", password="${BAD_PW}").send(MESSAGE)
    assert caught.value.status == 401 and PASSWORD not in str(caught.value)


def test_send_to_refused_recipient_is_rejected_for_good(smtp_server):
    controller, _handler, ca_file = smtp_server
    with pytest.raises(RejectedSinkError) as caught:
        _sink(controller, ca_file, recipients=["nobody@zone.example"]).send(MESSAGE)
    assert caught.value.status == 400


def test_send_to_closed_port_is_retryable():
    sink = SmtpSink("mail", SmtpSink.Config(host="127.0.0.1", port=_free_port(), sender="a@b.c",
                                            recipients=["d@e.f"], timeout_seconds=2))
    with pytest.raises(RetryableSinkError, match="cannot deliver"):
        sink.send(MESSAGE)


def test_config_plaintext_to_a_remote_server_is_refused():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="this host only"):
        SmtpSink.Config(host="smtp.example.com", security="none", sender="a@b.c", recipients=["d@e.f"])
    assert SmtpSink.Config(host="127.0.0.1", security="none", sender="a@b.c", recipients=["d@e.f"]).port == 587
