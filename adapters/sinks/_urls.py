"""Sink URLs: refuse the dangerous ones at config time, and describe them without secrets.

URLs come from operator config, yet a typo or a copied example must not send customs data (or a
bearer token) to a cloud metadata service (Standard Webhooks, SSRF section; RELIABILITY.md B4).
Only literal addresses and well-known metadata names can be checked here; a name that resolves
to a link-local address is not caught.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

METADATA_HOSTS = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog",  # GCP
    "metadata.tencentyun.com",  # Tencent Cloud
    "100.100.100.200",  # Alibaba Cloud ECS metadata
    "fd00:ec2::254",  # AWS IMDS over IPv6
    "instance-data", "instance-data.ec2.internal",  # AWS
})


def check_url(value: str) -> str:
    """Pydantic validator: an absolute http(s) URL to a host that is not link-local/metadata."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("url must start with https:// (or http:// on a private network)")
    if not parts.hostname:
        raise ValueError("url has no host")
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ValueError("url has an invalid port") from None
    if parts.username is not None or parts.password is not None:
        raise ValueError("url must not carry credentials (user:pass@); use the sink's secret fields")
    _check_host(parts.hostname.lower().rstrip("."))
    return value.strip()


def _check_host(host: str) -> None:
    if host in METADATA_HOSTS:
        raise ValueError(f"url host {host} is a cloud metadata service; refused")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    mapped = getattr(address, "ipv4_mapped", None)
    if address.is_link_local or (mapped is not None and mapped.is_link_local):
        raise ValueError(f"url host {host} is link-local (metadata services live there); refused")
    if str(address) in METADATA_HOSTS:
        raise ValueError(f"url host {host} is a cloud metadata service; refused")


def describe_url(url: str) -> str:
    """scheme://host:port/path, without user info or query (either may carry a secret)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"
