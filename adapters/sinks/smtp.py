"""E-mail alerts over SMTP: STARTTLS (default) or implicit TLS, verified, with an optional login.

Each message becomes one mail whose Message-ID is derived from the outbox id, so a mail system
that de-duplicates by Message-ID drops a retried copy. SMTP answers map to the relay's receiver
semantics: 535/534 (authentication) stops the sink like HTTP 401; other 5xx refuse the message
for good (dead, alerted); 4xx and connection or TLS failures are retried later. `security =
"none"` (plaintext) is accepted only for a relay on the same host (127.0.0.1, ::1, localhost);
it is never the default.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from adapters.sinks import _chat
from adapters.sinks._urls import LOOPBACK_NAMES
from connector.abc import OutboundMessage, Sink
from connector.clock import Clock, SystemClock
from connector.config.schema import Strict
from connector.config.secrets import Secret
from connector.errors import RejectedSinkError, RetryableSinkError

AUTH_CODES = frozenset({530, 534, 535})


class SmtpSink(Sink):
    class Config(Strict):
        host: str = Field(min_length=1)
        port: int = Field(default=587, ge=1, le=65535)
        security: Literal["starttls", "tls", "none"] = "starttls"
        username: str | None = None
        password: Secret | None = None
        sender: str = Field(min_length=3)
        recipients: list[str] = Field(min_length=1)
        ca_file: Path | None = None
        timeout_seconds: int = Field(default=30, ge=1, le=300)

        @model_validator(mode="after")
        def _plaintext_only_on_this_host(self) -> SmtpSink.Config:
            if self.security == "none" and self.host.lower().strip("[]").rstrip(".") not in LOOPBACK_NAMES:
                raise ValueError(f'security = "none" (plaintext) is for a relay on this host only, not {self.host}')
            return self

    def __init__(self, name: str, config: Config, clock: Clock | None = None):
        self.name, self.config, self.clock = name, config, clock or SystemClock()

    def send(self, message: OutboundMessage) -> int:
        mail = self.compose(message)
        try:
            with self._connect() as smtp:
                if self.config.username and self.config.password is not None:
                    smtp.login(self.config.username, self.config.password.reveal())
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise _answer_error(exc.smtp_code, exc.smtp_error, self.config.host) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise RejectedSinkError(f"SMTP {self.config.host} refused the recipients {sorted(exc.recipients)}",
                                    status=400) from None
        except ssl.SSLError as exc:
            raise RetryableSinkError(f"TLS failure with SMTP {self.config.host}: "
                                     f"{getattr(exc, 'verify_message', None) or exc.reason} (verification stays on)") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise RetryableSinkError(f"cannot deliver to SMTP {self.config.host}: {type(exc).__name__}: {exc}") from None
        return 250

    def compose(self, message: OutboundMessage) -> EmailMessage:
        title, lines = _chat.render(message)
        mail = EmailMessage()
        mail["Subject"] = title
        mail["From"] = self.config.sender
        mail["To"] = ", ".join(self.config.recipients)
        mail["Date"] = formatdate(self.clock.now().timestamp(), usegmt=True)
        mail["Message-ID"] = f"<{message.id}@bonded-connector>"
        mail["X-Connector-Event"] = message.event
        mail.set_content("\n".join(lines) + "\n")
        return mail

    def _connect(self) -> smtplib.SMTP:
        ctx = ssl.create_default_context(cafile=str(self.config.ca_file) if self.config.ca_file else None)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        timeout = self.config.timeout_seconds
        if self.config.security == "tls":
            return smtplib.SMTP_SSL(self.config.host, self.config.port, timeout=timeout, context=ctx)
        smtp = smtplib.SMTP(self.config.host, self.config.port, timeout=timeout)
        if self.config.security == "starttls":
            try:
                smtp.starttls(context=ctx)
            except BaseException:
                smtp.close()
                raise
        return smtp

    def check(self) -> str:
        return (f"SmtpSink {self.name}: {self.config.security} {self.config.host}:{self.config.port} "
                f"-> {len(self.config.recipients)} recipient(s)")


def _answer_error(code: int, text: bytes | str, host: str) -> Exception:
    reason = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else str(text)
    detail = f"SMTP {host} answered {code} {reason[:200]}"
    if code in AUTH_CODES:
        return RejectedSinkError(detail + " (check username/password)", status=401)
    if 500 <= code < 600:
        return RejectedSinkError(detail, status=400)
    return RetryableSinkError(detail)


