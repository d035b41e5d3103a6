"""connector.logs: the redaction processor (on captured event dicts) and the rendered output (on a real stream)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time

import pytest
import structlog
from structlog.testing import capture_logs

from connector import logs
from connector.config.secrets import Secret

SECRET = "s3cret"
ODBC = "DRIVER={PostgreSQL Unicode};SERVER=h;UID=u;PWD=s3cret;"
URL = "postgresql://u:s3cret@h/db"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _captured(**kw) -> dict:
    """Log one event through `redact` only and return what reached the end of the chain."""
    with capture_logs(processors=[logs.redact]) as captured:
        structlog.get_logger().info(kw.pop("event", "evt"), **kw)
    return captured[0]


def _json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# --- key-based ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [
    "password", "db_passwd", "PWD", "client_secret", "access_token", "Authorization",
    "api_key", "X-Api-Key", "apikey", "dsn", "Cookie", "signature",
])
def test_redact_with_secret_named_key_masks_value(key):
    entry = _captured(**{key: SECRET})
    assert entry[key] == "***"


def test_redact_with_ordinary_keys_keeps_values():
    entry = _captured(sku="ABC-1", qty=5, source="wms")
    assert (entry["sku"], entry["qty"], entry["source"]) == ("ABC-1", 5, "wms")


def test_redact_with_nested_dict_masks_secret_keys_at_every_depth():
    entry = _captured(source={"db": {"host": "h", "Password": SECRET}, "sinks": [{"token": SECRET, "url": "u"}]})
    assert entry["source"] == {"db": {"host": "h", "Password": "***"}, "sinks": [{"token": "***", "url": "u"}]}


# --- secrets inside strings --------------------------------------------------------------------------


def test_redact_with_odbc_password_scrubs_value():
    entry = _captured(conn_str=ODBC)
    assert entry["conn_str"] == "DRIVER={PostgreSQL Unicode};SERVER=h;UID=u;PWD=***;"


def test_redact_with_braced_odbc_password_scrubs_whole_braced_value():
    entry = _captured(conn_str="SERVER=h;Password={s3c;ret}}x};Database=wms")
    assert entry["conn_str"] == "SERVER=h;Password=***;Database=wms"


def test_redact_with_url_credentials_scrubs_password_keeps_user_and_host():
    entry = _captured(target=URL)
    assert entry["target"] == "postgresql://u:***@h/db"


def test_redact_with_secret_in_event_message_scrubs_it():
    entry = _captured(event=f"cannot connect to {URL} using {ODBC}")
    assert SECRET not in entry["event"]
    assert "postgresql://u:***@h/db" in entry["event"]


def test_redact_with_keyed_secret_in_dict_repr_text_scrubs_it():
    entry = _captured(error="[parameters: {'password': 's3cret', 'sku': 'A'}] GET /x?access_token=s3cret&page=2")
    assert entry["error"] == "[parameters: {'password': '***', 'sku': 'A'}] GET /x?access_token=***&page=2"


def test_redact_with_bearer_header_text_scrubs_credentials():
    entry = _captured(headers_text="Authorization: Bearer s3cret.jwt.value")
    assert SECRET not in entry["headers_text"]


def test_redact_with_secret_instance_masks_it_anywhere():
    secret = Secret(SECRET, "${DB_PASSWORD}")
    entry = _captured(event=secret, conn=secret, items=[secret], extra={"x": secret})
    assert (entry["event"], entry["conn"], entry["items"], entry["extra"]) == ("***", "***", ["***"], {"x": "***"})


def test_redact_with_object_value_scrubs_its_repr():
    class Endpoint:
        def __repr__(self) -> str:
            return f"Endpoint({URL!r})"

    entry = _captured(endpoint=Endpoint())
    assert entry["endpoint"] == "Endpoint('postgresql://u:***@h/db')"


# --- size --------------------------------------------------------------------------------------------


def test_redact_with_long_payload_keeps_prefix_and_hash_of_original():
    payload = "<Message>" + "<Item>1</Item>" * 500 + "</Message>"
    entry = _captured(body=payload)
    digest = hashlib.sha256(payload.encode()).hexdigest()[:12]
    assert entry["body"] == payload[:200] + f"…[sha256={digest} len={len(payload)}]"


def test_redact_with_value_at_limit_keeps_it_whole():
    entry = _captured(body="x" * 2000)
    assert entry["body"] == "x" * 2000


def test_redact_with_password_straddling_cut_never_shows_part_of_it():
    payload = "x" * 190 + "PWD=s3cretvalue;" + "y" * 3000
    entry = _captured(body=payload)
    assert "s3c" not in entry["body"]
    assert entry["body"].startswith("x" * 190 + "PWD=***;")


def test_redact_with_long_traceback_keeps_far_more_than_a_value():
    entry = logs.redact(None, "error", {"exception": "Traceback\n" + "  frame\n" * 500})
    assert entry["exception"].count("\n") == 501


def test_redact_with_pathological_traceback_text_finishes_quickly():
    started = time.perf_counter()
    logs.redact(None, "error", {"exception": "a." * 10_000, "event": "PWD={;" * 300})
    assert time.perf_counter() - started < 2  # was ~45 s with an unbounded `[\w.-]*` before the keyword


# --- log injection -----------------------------------------------------------------------------------


def test_redact_with_newline_injection_escapes_control_characters():
    entry = _captured(event="sku A\n2024-01-01 [error] fake line", name="x\r\x1b[31mred\x00\u202eevil\tcol")
    assert entry["event"] == "sku A\\n2024-01-01 [error] fake line"
    assert entry["name"] == "x\\r\\x1b[31mred\\x00\\u202eevil\tcol"


def test_redact_with_control_characters_in_nested_keys_escapes_them():
    entry = _captured(extra={"a\nb": 1})
    assert entry["extra"] == {"a\\nb": 1}


def test_redact_with_traceback_keeps_newlines_but_escapes_other_controls():
    entry = logs.redact(None, "error", {"exception": "Traceback\n  File x\nValueError: a\x1bb"})
    assert entry["exception"] == "Traceback\n  File x\nValueError: a\\x1bb"


# --- rendered output ---------------------------------------------------------------------------------


def test_configure_with_non_tty_stream_writes_one_json_object_per_line():
    stream = io.StringIO()
    logs.configure("info", "auto", stream)
    logs.get_logger(source="wms").info("synced", rows=3)
    [line] = _json_lines(stream)
    assert line["event"] == "synced" and line["rows"] == 3 and line["source"] == "wms"
    assert line["level"] == "info" and line["timestamp"].endswith("Z")


def test_configure_with_tty_stream_uses_console_renderer():
    stream = _Tty()
    logs.configure("info", "auto", stream)
    logs.get_logger().info("synced", rows=3)
    with pytest.raises(json.JSONDecodeError):
        json.loads(stream.getvalue())
    assert "synced" in stream.getvalue() and "rows" in stream.getvalue()


def test_configure_with_json_format_on_tty_writes_json():
    stream = _Tty()
    logs.configure("info", "json", stream)
    logs.get_logger().info("synced")
    assert _json_lines(stream)[0]["event"] == "synced"


def test_configure_with_info_level_drops_debug_events():
    stream = io.StringIO()
    logs.configure("info", "json", stream)
    logs.get_logger().debug("noise")
    logs.get_logger().warning("kept")
    assert [line["event"] for line in _json_lines(stream)] == ["kept"]


def test_configure_merges_bound_context_variables_into_every_line():
    stream = io.StringIO()
    logs.configure("info", "json", stream)
    structlog.contextvars.bind_contextvars(sync_run_id="r-1")
    logs.get_logger().info("a")
    logging.getLogger("httpx").warning("b")
    assert [line["sync_run_id"] for line in _json_lines(stream)] == ["r-1", "r-1"]


def test_configure_routes_library_warnings_through_redaction():
    stream = io.StringIO()
    logs.configure("info", "json", stream)
    logging.getLogger("httpx").warning("retrying %s", "https://u:s3cret@push.example/api")
    [line] = _json_lines(stream)
    assert line["logger"] == "httpx" and line["level"] == "warning"
    assert line["event"] == "retrying https://u:***@push.example/api"
    assert SECRET not in stream.getvalue()


def test_configure_with_info_level_hides_library_info_records():
    stream = io.StringIO()
    logs.configure("info", "json", stream)
    logging.getLogger("alembic.runtime.migration").info("Running upgrade")
    logging.getLogger("apscheduler.scheduler").info("Added job")
    assert stream.getvalue() == ""


def test_configure_with_debug_level_shows_library_debug_records():
    stream = io.StringIO()
    logs.configure("debug", "json", stream)
    logging.getLogger("httpx").debug("connect")
    assert _json_lines(stream)[0]["event"] == "connect"


def test_configure_called_twice_keeps_a_single_library_handler():
    logs.configure("info", "json", io.StringIO())
    stream = io.StringIO()
    logs.configure("info", "json", stream)
    logging.getLogger("apscheduler").warning("missed")
    assert len(_json_lines(stream)) == 1


@pytest.mark.parametrize(("level", "fmt"), [("verbose", "auto"), ("info", "xml")])
def test_configure_with_unknown_level_or_format_raises(level, fmt):
    with pytest.raises(ValueError, match="unknown log"):
        logs.configure(level, fmt, io.StringIO())


def test_rendered_exception_never_contains_secret():
    stream = io.StringIO()
    logs.configure("info", "json", stream)
    try:
        raise ConnectionError(f"cannot open {URL} ({ODBC})")
    except ConnectionError:
        logs.get_logger().exception("source failed")
    [line] = _json_lines(stream)
    assert "Traceback" in line["exception"] and "ConnectionError" in line["exception"]
    assert SECRET not in stream.getvalue()


def test_rendered_console_output_never_contains_secret():
    stream = _Tty()
    logs.configure("info", "console", stream)
    try:
        raise ConnectionError(URL)
    except ConnectionError:
        logs.get_logger(password=SECRET).exception(f"failed {ODBC}", dsn=URL, secret=Secret(SECRET, "${X}"))
    assert "Traceback" in stream.getvalue()
    assert SECRET not in stream.getvalue()


def test_rendered_output_with_every_case_never_contains_secret():
    stream = io.StringIO()
    logs.configure("info", "json", stream)
    logs.get_logger(token=SECRET).info(
        f"connect {ODBC}", url=URL, secret=Secret(SECRET, "${X}"), nested={"a": {"apikey": SECRET}},
        body="<x>" + "p" * 3000 + SECRET + "</x>", note="line\nPWD=s3cret;",
    )
    text = stream.getvalue()
    assert SECRET not in text
    assert len(text.splitlines()) == 1
