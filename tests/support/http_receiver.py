"""A real HTTP receiver on 127.0.0.1 for sink and relay tests, scripted reply by reply.

It records every request (method, path, headers, body) and answers from a script of `Reply`s,
then with the default reply. A reply can hang (accept, read, never answer until teardown) or drop
the connection without answering. The `receiver` fixture stops the server and joins every handler
thread at teardown; a hung handler is released first.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

HANG_LIMIT_SECONDS = 30


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b'{"success": true}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    hang: bool = False
    drop: bool = False


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


class Receiver:
    """The server, its script and what it saw."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.requests: list[Recorded] = []
        self.script: deque[Reply] = deque()
        self.default = Reply()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = False  # server_close() joins handler threads
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="http-receiver")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}/push"

    def url_for(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}{path}"

    def answer(self, *replies: Reply | int) -> None:
        """Queue replies (a bare int is that status with a JSON success body)."""
        for reply in replies:
            self.script.append(Reply(status=reply) if isinstance(reply, int) else reply)

    def _record_and_pick(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self.script.popleft() if self.script else self.default

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10  # an idle keep-alive connection cannot block teardown for long

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = receiver._record_and_pick(Recorded(self.command, self.path, headers, body))
            self._answer(reply)

        do_GET = do_POST

        def _answer(self, reply: Reply) -> None:
            if reply.hang:
                receiver.release.wait(HANG_LIMIT_SECONDS)
            if reply.drop or reply.hang:
                self.close_connection = True
                return
            try:
                self.send_response(reply.status)
                for name, value in {**reply.headers, "Content-Length": str(len(reply.body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:  # the client gave up (timeout); nothing to answer
                self.close_connection = True

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.stop()


def json_reply(status: int, data: object, **headers: str) -> Reply:
    return Reply(status=status, body=json.dumps(data).encode(),
                 headers={"Content-Type": "application/json", **headers})


def make_self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by nobody the system trusts (openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[Receiver, Path]]:
    """(receiver over HTTPS with a self-signed certificate, that certificate as a CA file)."""
    cert, key = make_self_signed(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    server = Receiver(tls=ctx)
    try:
        yield server, cert
    finally:
        server.stop()


# A local certificate authority made in the test (trustme), and HTTPS receivers whose
# certificates it issued: a good one, one for another host name, one already expired.

def local_ca(folder: Path):
    """(trustme.CA, its certificate as a PEM file to give a sink as `ca_file`)."""
    import trustme

    ca = trustme.CA(organization_name="connector test CA")
    path = folder / "local-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


def ca_signed_receiver(ca, *names: str, expired: bool = False) -> Receiver:
    """A receiver over HTTPS with a certificate from `ca` for `names` (default 127.0.0.1)."""
    import datetime as dt

    kwargs = {}
    if expired:
        now = dt.datetime.now(dt.UTC)
        kwargs.update(not_before=now - dt.timedelta(days=3), not_after=now - dt.timedelta(days=1))
    cert = ca.issue_cert(*(names or ("127.0.0.1",)), **kwargs)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return Receiver(tls=ctx)


@pytest.fixture
def ca_receiver(tmp_path: Path) -> Iterator[tuple[Receiver, Path, object]]:
    """(HTTPS receiver with a certificate from a local CA, the CA file, the CA)."""
    ca, path = local_ca(tmp_path)
    server = ca_signed_receiver(ca)
    try:
        yield server, path, ca
    finally:
        server.stop()
