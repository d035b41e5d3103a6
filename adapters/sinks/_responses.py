"""Reading a receiver's answer: success only on a real success (RELIABILITY.md B5 26-31).

2xx is success, and when the endpoint documents a JSON success flag (common in CN government and
vendor APIs) that flag must be `true` too; anything unknown is a failure. 3xx is a failure and is
never followed. 408/409/425/429/5xx are worth retrying later, honouring Retry-After in either of
its forms; other 4xx cannot be fixed by retrying and the message is held. Error texts name the
endpoint without query or credentials, so they are safe to log and to store in `last_error`.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from adapters.sinks._urls import describe_url
from connector.errors import RejectedSinkError, RetryableSinkError

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
SNIPPET_LIMIT = 200


def classify(response: httpx.Response, success_field: str | None, now: datetime, where: str | None = None) -> int:
    """Return the status of a real success; raise the SinkError that says what to do otherwise."""
    status = response.status_code
    where = where or describe_url(str(response.request.url))
    if 200 <= status < 300:
        if success_field:
            _check_success_field(response, success_field, where)
        return status
    text = f"HTTP {status} from {where}: {_snippet(response)}"
    if 300 <= status < 400:
        raise RetryableSinkError(f"{text} (redirect not followed; check the url)", status=status)
    if status in RETRYABLE_STATUSES or status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
        raise RetryableSinkError(text, status=status, retry_after=retry_after)
    if 400 <= status < 500:
        raise RejectedSinkError(text, status=status)
    raise RetryableSinkError(f"{text} (unexpected status)", status=status)


def _check_success_field(response: httpx.Response, field: str, where: str) -> None:
    """A 2xx whose body does not say `field: true` is not a success (retried, then held)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    value = body.get(field, "<missing>") if isinstance(body, dict) else "<not a JSON object>"
    if value is not True:
        raise RetryableSinkError(
            f"HTTP {response.status_code} from {where} but {field}={value!r}: {_snippet(response)}",
            status=response.status_code)


def check_code(response: httpx.Response, where: str, *fields: str) -> None:
    """Chat bots answer 200 with `{"errcode": 0}` (WeCom, DingTalk) or `{"code": 0}` (Feishu):
    the first of `fields` present must be 0, else the message was not accepted."""
    try:
        body = response.json()
    except ValueError:
        body = None
    present = [f for f in fields if isinstance(body, dict) and f in body]
    if not present or body[present[0]] != 0:
        raise RetryableSinkError(f"HTTP {response.status_code} from {where} but not accepted: {_snippet(response)}",
                                 status=response.status_code)


def _snippet(response: httpx.Response) -> str:
    """The start of the body, on one line, control characters escaped (log injection)."""
    text = response.content[:SNIPPET_LIMIT * 4].decode("utf-8", errors="replace")[:SNIPPET_LIMIT]
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text) or "<empty body>"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait: `Retry-After: 120` or an HTTP-date. Unparseable means no advice."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or obsolete forms: HTTP-dates are GMT
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def ssl_failure(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind an httpx error, if any (httpx wraps httpcore wraps ssl)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def transport_error(exc: httpx.TransportError, url: str) -> RetryableSinkError:
    """No HTTP answer at all: timeout, refused, reset, TLS. Always worth a later retry."""
    where = describe_url(url)
    tls = ssl_failure(exc)
    if tls is not None:
        detail = getattr(tls, "verify_message", None) or tls.reason or str(tls)
        return RetryableSinkError(f"TLS failure with {where}: {detail} (verification stays on)")
    if isinstance(exc, httpx.TimeoutException):
        return RetryableSinkError(f"timed out ({type(exc).__name__}) talking to {where}")
    return RetryableSinkError(f"cannot reach {where}: {type(exc).__name__}: {exc}")
