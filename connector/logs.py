"""Logging: one structlog processor chain for our events and for library records, redacted before rendering.

Why: the connector holds database passwords, customs/receiver tokens and raw declaration XML. Every line,
ours and that of alembic, apscheduler and httpx, passes through `redact` just before the renderer. A secret
therefore cannot reach journald through a forgotten `log.info(..., dsn=...)`, an exception message or a
logged payload. Under systemd the stream is not a TTY, so each event is one JSON object per line. A person
at a terminal gets the console renderer.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, TextIO
from uuid import UUID

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from connector.config.secrets import Secret

MASK = "***"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
FORMATS = ("auto", "json", "console")


class _Policy(NamedTuple):
    """How much of a string survives. Tracebacks are kept whole and multi-line because that is what you debug."""

    limit: int  # strings longer than this are cut
    keep: int  # characters kept before the `…[sha256=… len=…]` marker
    multiline: bool  # keep "\n" (tracebacks); every other control character is escaped


VALUE = _Policy(limit=2_000, keep=200, multiline=False)
TRACE = _Policy(limit=20_000, keep=20_000, multiline=True)
_TRACE_KEYS = frozenset({"exception", "stack"})
_META_KEYS = frozenset({"_record", "_from_structlog"})  # ProcessorFormatter's own keys: pass untouched
_PLAIN = (bool, int, float, Decimal, datetime, date, time, timedelta, UUID, type(None))
_SCRUB_MARGIN = 512  # scrub this far past the cut so a secret straddling it is masked, not half-shown
_HANDLER_MARK = "_connector_logs_handler"

_WORDS = (
    r"passw(?:or)?d|pwd|secret|token|authori[sz]ation|api[-_]?key|dsn|cookie|signature"
    r"|passphrase|private[-_]?key|credential"
)
_SECRET_KEY = re.compile(_WORDS, re.IGNORECASE)
# Every repetition next to a keyword is bounded: these run on tracebacks up to 20 000 characters, and an
# unbounded `[\w.-]*` before a keyword made "a.a.a…" take seconds (one backtracking scan per start position).
# ODBC / libpq: `PWD=s3cret;`, `Password={a;b}}c};`. An unbraced ODBC value may hold spaces, so run to `;`.
_ODBC = re.compile(r"(?i)(\b(?:pwd|passw(?:or)?d)[ \t]*=[ \t]*)(\{(?:[^}]|\}\}){0,1024}\}|[^;\r\n]*)")
# `scheme://user:pass@host`: the password part of the userinfo.
_URL_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]{0,30}://[^\s:/@'\"]{0,256}:)[^\s@/'\"]{0,1024}@")
# `token=…`, `"password": "…"`, `'api_key': '…'`, `Authorization: Bearer …` inside free text (dict reprs,
# JSON bodies, query strings, SQLAlchemy "[parameters: …]"). Only the value is replaced, so the match
# may start at the keyword itself (`db_password=` matches from `password`).
_KEYED = re.compile(
    r"""(?i)((?:""" + _WORDS + r""")[\w.-]{0,64}["']?[ \t]{0,16}[:=][ \t]{0,16})"""
    r"""("(?:[^"\\\n]|\\.){0,4096}"|'(?:[^'\\\n]|\\.){0,4096}'|(?:bearer|basic|digest)[ \t]+[^\s;&,'"}]+"""
    r"""|["']?[^\s;&,'"}]+)"""
)
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_NL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def configure(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Set up structlog and stdlib logging to write one redacted line per event to *stream* (stderr).

    Logs go to stderr so stdout stays clean for command output (`connector status` prints JSON there).
    Library records pass at WARNING unless *level* is debug: alembic and apscheduler are chatty at INFO.
    Calling this again replaces the previous setup instead of stacking handlers.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LEVELS)}")
    out = stream if stream is not None else _CurrentStderr()
    renderer = _renderer(fmt, out)
    structlog.configure(
        processors=[*_chain(foreign=False), renderer],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[level]),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        context_class=dict,
        cache_logger_on_first_use=False,
    )
    library_level = logging.DEBUG if level == "debug" else max(LEVELS[level], logging.WARNING)
    _route_stdlib(out, renderer, library_level)


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written, not when logging was configured: a process
    that swaps stderr (pytest's capture, an embedding program) must not log into a closed stream."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def get_logger(**bind: Any) -> Any:
    """A logger whose every line carries *bind* (e.g. `source=`, `sync_run_id=`), so one run can be grepped."""
    return structlog.get_logger(**bind)


def redact(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secrets, cut payloads and escape control characters in every value.

    It runs after the exception has been formatted to text and just before the renderer, so the context
    variables, the event message and the traceback are all covered.
    """
    cleaned: EventDict = {}
    for key, value in event_dict.items():
        if key in _META_KEYS:
            cleaned[key] = value
            continue
        name = str(key)
        cleaned[_escape(name)] = _clean_item(name, value, TRACE if name in _TRACE_KEYS else VALUE)
    return cleaned


def scrub(text: str) -> str:
    """Mask credentials inside free text: ODBC `PWD=…;`, `user:pass@` in URLs, `token=…` / `"password": "…"`.

    Public because alert and quarantine texts need the same treatment before they leave the process.
    """
    text = _ODBC.sub(r"\g<1>" + MASK, text)
    text = _URL_USERINFO.sub(r"\g<1>" + MASK + "@", text)
    return _KEYED.sub(_mask_keyed, text)


def _mask_keyed(match: re.Match[str]) -> str:
    value = match.group(2)
    quoted = len(value) > 1 and value[0] in "\"'" and value[-1] == value[0]
    return match.group(1) + (value[0] + MASK + value[0] if quoted else MASK)


def _clean_item(key: str, value: Any, policy: _Policy = VALUE) -> Any:
    """A value is masked whole when its key names a secret; the key is the strongest signal we have."""
    if _SECRET_KEY.search(key):
        return MASK
    return _clean(value, policy)


def _clean(value: Any, policy: _Policy = VALUE, depth: int = 0) -> Any:
    """Walk containers; anything that is not plain data is rendered with repr() here, so it is scrubbed too."""
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, str):
        return _clean_text(value, policy)
    if isinstance(value, _PLAIN):
        return value
    if depth < 8 and isinstance(value, Mapping):
        return {_escape(str(k)): _clean_nested(str(k), v, depth) for k, v in value.items()}
    if depth < 8 and isinstance(value, (list, tuple, set, frozenset)):
        return [_clean(item, VALUE, depth + 1) for item in value]
    return _clean_text(repr(value), policy)


def _clean_nested(key: str, value: Any, depth: int) -> Any:
    return MASK if _SECRET_KEY.search(key) else _clean(value, VALUE, depth + 1)


def _clean_text(text: str, policy: _Policy) -> str:
    """Scrub, cut, then escape. The hash is of the original text, so it matches a stored copy of the payload."""
    if len(text) <= policy.limit:
        return _escape(scrub(text), policy.multiline)
    head = scrub(text[: policy.keep + _SCRUB_MARGIN])[: policy.keep]
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{_escape(head, policy.multiline)}…[sha256={digest} len={len(text)}]"


def _escape(text: str, multiline: bool = False) -> str:
    """Show control characters as `\\n`, `\\x1b`, `\\u202e`: a value must not forge a log line or restyle a terminal."""
    pattern = _CONTROL_KEEP_NL if multiline else _CONTROL
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _chain(*, foreign: bool) -> list[Processor]:
    """Processors shared by structlog events and stdlib (*foreign*) records; `redact` goes last."""
    chain: list[Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.contextvars.merge_contextvars,
    ]
    if foreign:
        chain.append(structlog.stdlib.add_logger_name)
    chain += [structlog.processors.StackInfoRenderer(), structlog.processors.format_exc_info, redact]
    return chain


def _renderer(fmt: str, stream: TextIO) -> Processor:
    """JSON for machines (journald, files, pipes); console only for a person at a terminal."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; use one of {', '.join(FORMATS)}")
    tty = _is_tty(stream)
    if fmt == "json" or (fmt == "auto" and not tty):
        return structlog.processors.JSONRenderer(ensure_ascii=False)
    return structlog.dev.ConsoleRenderer(colors=tty and "NO_COLOR" not in os.environ)


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed or file-like without isatty
        return False


def _route_stdlib(stream: TextIO, renderer: Processor, level: int) -> None:
    """Send library records through the same chain and renderer; replace only a handler we installed."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=_chain(foreign=True),
    ))
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
