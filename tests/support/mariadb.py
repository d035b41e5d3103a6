"""A throwaway MariaDB server for tests: mariadb-install-db into a temp dir, 127.0.0.1 only.

`MariaDbServer.start()` initialises a data dir, starts `mariadbd` on a free port (socket inside the
temp dir, `--user=root` when root), creates the role `connector_test` with a random password and
waits until it answers. `stop()` terminates the server we started (by its own pid), waits, and
removes the dir; idempotent and registered with atexit. Missing binaries: `find_mariadbd()` is None
and the fixture skips (fails in CI, where scripts/sysdeps.sh installs mariadb-server-core).
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pymysql

from tests.support.postgres import free_port

USER = "connector_test"


def find_mariadbd() -> str | None:
    found = shutil.which("mariadbd") or ("/usr/sbin/mariadbd" if os.access("/usr/sbin/mariadbd", os.X_OK) else None)
    return found if found and shutil.which("mariadb-install-db") else None


@dataclass(frozen=True)
class MariaDatabase:
    name: str
    host: str
    port: int
    user: str
    password: str

    @property
    def url(self) -> str:
        return f"mysql+pymysql://{self.user}@{self.host}:{self.port}/{self.name}?charset=utf8mb4"

    def connect(self) -> pymysql.Connection:
        return pymysql.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               database=self.name, charset="utf8mb4", autocommit=True)


class MariaDbServer:
    host = "127.0.0.1"

    def __init__(self, mariadbd: str):
        self.mariadbd = mariadbd
        self.password = secrets.token_urlsafe(18)
        self.base = Path(tempfile.mkdtemp(prefix="connector-maria-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self._stopped = False

    def start(self) -> MariaDbServer:
        atexit.register(self.stop)
        try:
            self._install()
            self._launch()
            self._create_user()
        except BaseException:
            self.stop()
            raise
        return self

    def _root_args(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def _install(self) -> None:
        with open(self.base / "install.out", "wb") as out:
            subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={self.base / 'data'}",
                            "--auth-root-authentication-method=socket", "--skip-test-db", *self._root_args()],
                           stdout=out, stderr=subprocess.STDOUT, check=True, timeout=120)

    def _launch(self) -> None:
        log = open(self.base / "server.log", "wb")
        self.process = subprocess.Popen(
            [self.mariadbd, "--no-defaults", f"--datadir={self.base / 'data'}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.base / 'sock'}", f"--pid-file={self.base / 'pid'}",
             "--skip-log-bin", "--innodb-buffer-pool-size=32M", "--innodb-flush-log-at-trx-commit=0",
             "--character-set-server=utf8mb4", *self._root_args()],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 60
        while not (self.base / "sock").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mariadbd did not start:\n" + (self.base / "server.log").read_text(errors="replace"))
            time.sleep(0.1)

    def _admin(self) -> pymysql.Connection:
        return pymysql.connect(unix_socket=str(self.base / "sock"), user="root", autocommit=True)

    def _create_user(self) -> None:
        with self._admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY %s", (self.password,))
            cur.execute(f"GRANT ALL ON *.* TO '{USER}'@'127.0.0.1'")

    def create_database(self) -> MariaDatabase:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with self._admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        return MariaDatabase(name, self.host, self.port, USER, self.password)

    def drop_database(self, name: str) -> None:
        with self._admin() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.base, ignore_errors=True)


def mariadb_fixture():
    """Body of the session `mariadb` fixture (tests/conftest.py): a server, skipped when not installed."""
    import pytest

    from tests.support.postgres import running_in_ci

    binary = find_mariadbd()
    if binary is None:
        if running_in_ci():
            pytest.fail("MariaDB is required in CI (mariadb-server-core) but not installed", pytrace=False)
        pytest.skip("MariaDB not available: install mariadb-server-core")
    server = MariaDbServer(binary).start()
    try:
        yield server
    finally:
        server.stop()
