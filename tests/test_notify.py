"""connector.notify against real AF_UNIX datagram sockets standing in for systemd's notify socket."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from connector import notify


def _receiver(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(address)
        sock.settimeout(5)
    except BaseException:
        sock.close()
        raise
    return sock


@pytest.fixture
def file_socket(tmp_path):
    """A notify socket on the file system: (receiving socket, environment naming it)."""
    path = str(tmp_path / "notify.sock")
    sock = _receiver(path)
    try:
        yield sock, {"NOTIFY_SOCKET": path}
    finally:
        sock.close()


@pytest.fixture
def abstract_socket():
    """A notify socket in the abstract namespace, given to the daemon as `@name` like systemd does."""
    name = f"connector-test-{uuid.uuid4().hex}"
    sock = _receiver("\0" + name)
    try:
        yield sock, {"NOTIFY_SOCKET": "@" + name}
    finally:
        sock.close()


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        (notify.ready, b"READY=1"),
        (notify.watchdog, b"WATCHDOG=1"),
        (notify.stopping, b"STOPPING=1"),
        (notify.reloading, b"RELOADING=1"),
    ],
    ids=["ready", "watchdog", "stopping", "reloading"],
)
def test_helper_with_file_socket_sends_its_datagram(file_socket, send, expected):
    sock, environ = file_socket
    assert send(environ) is True
    assert sock.recv(4096) == expected


def test_notify_with_abstract_socket_sends_datagram(abstract_socket):
    sock, environ = abstract_socket
    assert notify.ready(environ) is True
    assert sock.recv(4096) == b"READY=1"


def test_each_call_with_file_socket_sends_one_datagram_in_order(file_socket):
    sock, environ = file_socket
    assert notify.ready(environ) and notify.watchdog(environ) and notify.stopping(environ)
    assert [sock.recv(4096) for _ in range(3)] == [b"READY=1", b"WATCHDOG=1", b"STOPPING=1"]


def test_status_with_multiline_text_sends_one_line(file_socket):
    sock, environ = file_socket
    assert notify.status("syncing wms\n3 sources", environ) is True
    assert sock.recv(4096) == b"STATUS=syncing wms 3 sources"


def test_status_with_chinese_text_sends_utf8(file_socket):
    sock, environ = file_socket
    assert notify.status("核注清单 3 张", environ) is True
    assert sock.recv(4096) == "STATUS=核注清单 3 张".encode()


def test_status_with_unencodable_text_sends_replacement_and_does_not_raise(file_socket):
    sock, environ = file_socket
    assert notify.status("bad \udcff byte", environ) is True
    assert sock.recv(4096) == b"STATUS=bad ? byte"


def test_default_environ_with_notify_socket_set_reads_os_environ(file_socket, monkeypatch):
    sock, environ = file_socket
    monkeypatch.setenv("NOTIFY_SOCKET", environ["NOTIFY_SOCKET"])
    assert notify.watchdog() is True
    assert sock.recv(4096) == b"WATCHDOG=1"


def test_notify_without_notify_socket_returns_false():
    assert notify.notify("READY=1", {}) is False
    assert notify.ready({"NOTIFY_SOCKET": ""}) is False


def test_default_environ_without_notify_socket_returns_false(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify.ready() is False


def test_notify_with_missing_socket_file_returns_false_without_raising(tmp_path):
    assert notify.ready({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}) is False


def test_notify_with_unbound_abstract_name_returns_false_without_raising():
    assert notify.ready({"NOTIFY_SOCKET": f"@connector-test-nobody-{uuid.uuid4().hex}"}) is False


def test_notify_with_unsupported_address_returns_false():
    assert notify.ready({"NOTIFY_SOCKET": "relative/notify.sock"}) is False
    assert notify.ready({"NOTIFY_SOCKET": "vsock:2:1234"}) is False


def test_notify_with_path_not_a_socket_returns_false_without_raising(tmp_path):
    plain = tmp_path / "plain-file"
    plain.write_text("")
    assert notify.ready({"NOTIFY_SOCKET": str(plain)}) is False


def test_watchdog_interval_with_usec_returns_seconds():
    assert notify.watchdog_interval({"WATCHDOG_USEC": "120000000"}) == 120.0


def test_watchdog_interval_with_matching_pid_returns_seconds():
    environ = {"WATCHDOG_USEC": "2500000", "WATCHDOG_PID": str(os.getpid())}
    assert notify.watchdog_interval(environ) == 2.5


def test_watchdog_interval_with_other_pid_returns_none():
    environ = {"WATCHDOG_USEC": "120000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert notify.watchdog_interval(environ) is None


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"WATCHDOG_USEC": ""},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "-5"},
        {"WATCHDOG_USEC": "2min"},
        {"WATCHDOG_USEC": "120000000", "WATCHDOG_PID": "not-a-pid"},
    ],
    ids=["unset", "empty", "zero", "negative", "not-a-number", "bad-pid"],
)
def test_watchdog_interval_without_valid_usec_returns_none(environ):
    assert notify.watchdog_interval(environ) is None


def test_watchdog_interval_default_environ_reads_os_environ(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "60000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert notify.watchdog_interval() == 60.0
