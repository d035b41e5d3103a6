"""Sink URLs: refuse the dangerous ones, and describe them without secrets.

URLs come from operator config, yet a typo or a copied example must not send customs data (or a
bearer token) to a cloud metadata service (Standard Webhooks, SSRF section; RELIABILITY.md B4).
At configuration time literal addresses and well-known metadata names are refused, and plain
`http://` is refused unless the sink opts in for a receiver on this very host
(`allow_plaintext_loopback`). At send time the host name is resolved and every address it
resolves to is checked again (`check_resolved`), so a name pointing at a link-local address is
refused too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

METADATA_HOSTS = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog",  # GCP
    "metadata.tencentyun.com",  # Tencent Cloud
    "100.100.100.200",  # Alibaba Cloud ECS metadata
    "fd00:ec2::254",  # AWS IMDS over IPv6
    "instance-data", "instance-data.ec2.internal",  # AWS
})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
Resolver = Callable[[str, int], Iterable[str]]


def check_url(value: str) -> str:
    """Pydantic validator: an absolute http(s) URL to a host that is not link-local/metadata."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("url must start with https://")
    if not parts.hostname:
        raise ValueError("url has no host")
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ValueError("url has an invalid port") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError("url must not carry credentials (user:pass@); use the sink's secret fields")
    _check_host(host_of(value))
    return value.strip()


def host_of(url: str) -> str:
    return (urlsplit(url.strip()).hostname or "").lower().rstrip(".")


def check_plaintext(url: str, allow_plaintext_loopback: bool) -> None:
    """TLS only (the push goes over TLS >= 1.2); `http://` just for a test receiver on this host."""
    if urlsplit(url).scheme.lower() != "http":
        return
    if not allow_plaintext_loopback:
        raise ValueError("url must start with https:// (TLS >= 1.2); plain http:// is allowed only for a "
                         "receiver on this host with allow_plaintext_loopback = true")
    if host_of(url) not in LOOPBACK_NAMES:
        raise ValueError(f"allow_plaintext_loopback covers 127.0.0.1, ::1 and localhost only, "
                         f"not {host_of(url)}; use https://")


def _check_host(host: str) -> None:
    if host in METADATA_HOSTS:
        raise ValueError(f"url host {host} is a cloud metadata service; refused")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    problem = unsafe_address(str(address))
    if problem:
        raise ValueError(f"url host {host} {problem}; refused")


def unsafe_address(text: str) -> str | None:
    """Why an IP address must not be sent to, or None. Link-local covers 169.254/16 and fe80::/10."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id (fe80::1%eth0)
    except ValueError:
        return f"resolved to {text!r}, which is not an IP address"
    mapped = getattr(address, "ipv4_mapped", None)
    if address.is_link_local or (mapped is not None and mapped.is_link_local):
        return f"is link-local ({address}; metadata services live there)"
    if str(address) in METADATA_HOSTS or (mapped is not None and str(mapped) in METADATA_HOSTS):
        return f"is a cloud metadata service ({address})"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host:port (what httpx will connect to)."""
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def check_resolved(url: str, resolver: Resolver = system_resolver) -> str | None:
    """At send time: why this url's host must not be sent to (any address unsafe), or None.

    A name that does not resolve is left to the connection attempt (it fails as unreachable).
    """
    parts = urlsplit(url)
    host = host_of(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = list(resolver(host, port))
    except OSError:
        return None
    for address in addresses:
        problem = unsafe_address(address)
        if problem:
            return f"url host {host} {problem}"
    return None


def describe_url(url: str) -> str:
    """scheme://host:port/path, without user info or query (either may carry a secret)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"
