"""Describe the certificate a receiver presented, for the alert after a TLS failure (B5 #31).

When verification fails, the operator needs to know *what* the receiver showed: whose certificate,
issued by whom, valid until when. That is fetched on a separate connection with verification off,
used only to read the certificate and closed right after the handshake: not a byte of a message
goes over it, and the sink's own connection never falls back to `verify=False`.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

TEXT_LIMIT = 200


def fetch_der(host: str, port: int, timeout: float) -> bytes | None:
    """The DER certificate the server at host:port presents, or None if it cannot be had."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # describe only: this connection never carries data
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                ctx.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert(binary_form=True)
    except (OSError, ValueError):
        return None


def describe_der(der: bytes, now: datetime) -> dict[str, Any]:
    """Subject, issuer, validity, names and fingerprint of one certificate, as short plain text."""
    cert = x509.load_der_x509_certificate(der)
    not_after, not_before = cert.not_valid_after_utc, cert.not_valid_before_utc
    return {"cert_subject": _cut(cert.subject.rfc4514_string()), "cert_issuer": _cut(cert.issuer.rfc4514_string()),
            "cert_not_before": not_before.isoformat(), "cert_not_after": not_after.isoformat(),
            "cert_expired": not_after < now, "cert_not_yet_valid": not_before > now,
            "cert_self_signed": cert.subject == cert.issuer, "cert_names": _cut(", ".join(_names(cert))),
            "cert_sha256": hashlib.sha256(der).hexdigest()}


def describe_peer(url: str, timeout: float, now: datetime) -> dict[str, Any] | None:
    """The certificate of the receiver at `url`, described; None when it cannot be fetched."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    der = fetch_der(parts.hostname, parts.port or 443, timeout)
    if der is None:
        return None
    try:
        return describe_der(der, now)
    except ValueError:
        return {"cert_sha256": hashlib.sha256(der).hexdigest(), "cert_subject": "<unparseable certificate>"}


def summary(cert: dict[str, Any] | None) -> str:
    """One line for logs and `last_error`: subject, issuer, expiry."""
    if not cert:
        return "peer certificate not available"
    flags = [f for f, key in (("EXPIRED", "cert_expired"), ("NOT YET VALID", "cert_not_yet_valid"),
                              ("self-signed", "cert_self_signed")) if cert.get(key)]
    extra = f" ({', '.join(flags)})" if flags else ""
    return (f"peer certificate subject {cert.get('cert_subject')}, issuer {cert.get('cert_issuer')}, "
            f"valid until {cert.get('cert_not_after')}{extra}")


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(v) for v in san.get_values_for_type(x509.DNSName) + san.get_values_for_type(x509.IPAddress)]


def _cut(text: str) -> str:
    text = "".join(c if c.isprintable() else " " for c in text)
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT - 1] + "…"
