"""Message signatures for the supervision push: HMAC-SHA256 or HMAC-SM3 (GB/T 32905), configurable.

The signed text is `<Idempotency-Key>.<unix seconds>.` + the body bytes, the Standard Webhooks
construction with the push's key, so a receiver can reject a replayed or altered message. SM3
comes from `cryptography` (OpenSSL), never from a pure-Python implementation (RELIABILITY.md B4).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

Algorithm = Literal["hmac-sha256", "hmac-sm3"]
ALGORITHMS: tuple[str, ...] = ("hmac-sha256", "hmac-sm3")


def mac(algorithm: str, key: bytes, data: bytes) -> bytes:
    if algorithm == "hmac-sha256":
        return hmac.new(key, data, hashlib.sha256).digest()
    if algorithm == "hmac-sm3":
        h = crypto_hmac.HMAC(key, hashes.SM3())
        h.update(data)
        return h.finalize()
    raise ValueError(f"unknown signing algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")


def signed_text(key_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{key_id}.{timestamp}.".encode() + body


def signature(algorithm: str, key: bytes, key_id: str, timestamp: int, body: bytes) -> str:
    """The `X-Signature` header value: `<algorithm>=<base64 MAC>`."""
    digest = mac(algorithm, key, signed_text(key_id, timestamp, body))
    return f"{algorithm}=" + base64.b64encode(digest).decode("ascii")


def verify(header: str, key: bytes, key_id: str, timestamp: int, body: bytes) -> bool:
    """What a receiver does (used by the tests and documented in docs/push-schema.md)."""
    algorithm, _, _ = header.partition("=")
    if algorithm not in ALGORITHMS:
        return False
    return hmac.compare_digest(header, signature(algorithm, key, key_id, timestamp, body))
