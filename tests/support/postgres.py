"""A throwaway PostgreSQL server for tests: initdb into a temp dir, 127.0.0.1 only, removed at the end.

`PostgresServer.start()` runs `initdb` (as the `postgres` OS user through `runuser` when the tests
run as root, because PostgreSQL refuses to run as root; directly otherwise), then `pg_ctl -w start`
with TCP on 127.0.0.1 and a free port, and the Unix socket inside the temp dir (never the system's
/var/run/postgresql). Host connections need a password (scram-sha-256) for the superuser role
`connector_test`, whose random password lives only in this process. `stop()` runs
`pg_ctl -m fast stop` (then `immediate`, then SIGKILL of the postmaster whose pid we wrote down)
and removes the whole dir; it is idempotent and also registered with atexit, so a failed start or
an interrupted session leaves no process and no file behind.

Missing binaries: `find_bindir()` returns None; the `postgres` fixture (tests/conftest.py) then
skips, except in CI (`CI=true`), where a missing PostgreSQL is an error (CI installs the Debian
`postgresql` package).
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

SUPERUSER = "connector_test"
OS_USER = "postgres"
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30
BINARIES = ("initdb", "pg_ctl", "postgres")
# Durability is pointless for a server that is deleted after the run; these make it start and work fast.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=50",
                 "shared_buffers=16MB")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be run on this machine at all (no binaries, no way to drop root)."""


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: $CONNECTOR_TEST_PG_BINDIR, `pg_config
    --bindir` (which can name a client-only folder, so it is checked), else the newest
    /usr/lib/postgresql/<version>/bin."""
    candidates: list[str] = []
    if override := os.environ.get("CONNECTOR_TEST_PG_BINDIR"):
        candidates.append(override)
    if pg_config := shutil.which("pg_config"):
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted(versions, key=_version_key, reverse=True)
    for folder in candidates:
        if all(os.access(Path(folder) / b, os.X_OK) for b in BINARIES):
            return Path(folder)
    return None


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Database:
    """One database on the test server, and how to reach it."""

    name: str
    host: str
    port: int
    user: str
    password: str

    @property
    def url(self) -> str:
        """SQLAlchemy URL without the password (the connector takes passwords by reference)."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{self.name}"

    def connect(self, **kwargs) -> psycopg.Connection:
        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=self.name, connect_timeout=10, **kwargs)


class PostgresServer:
    """One initdb'd cluster in a private temp dir; see the module docstring."""

    host = "127.0.0.1"

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.user = SUPERUSER
        self.password = secrets.token_urlsafe(24)
        self.port: int | None = None
        self.base: Path | None = None
        self._as_root = os.geteuid() == 0
        self._stopped = False

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def data(self) -> Path:
        assert self.base is not None
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        assert self.base is not None
        return self.base / "server.log"

    def start(self) -> PostgresServer:
        atexit.register(self.stop)
        try:
            self.base = self._make_base()
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (fast, then immediate, then SIGKILL) and delete every file. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        try:
            if self.base is not None and (self.data / "postmaster.pid").exists():
                self._stop_server()
        finally:
            if self.base is not None:
                shutil.rmtree(self.base, ignore_errors=True)

    def _make_base(self) -> Path:
        """A fresh 0700 dir; owned by the `postgres` user when we are root (initdb refuses root)."""
        parent = Path(tempfile.gettempdir())
        if self._as_root and not _traversable_by_others(parent):
            parent = Path("/tmp")
        base = Path(tempfile.mkdtemp(prefix="connector-pg-", dir=parent))
        if self._as_root:
            try:
                account = pwd.getpwnam(OS_USER)
            except KeyError:
                shutil.rmtree(base, ignore_errors=True)
                raise PostgresUnavailable(
                    f"running as root but there is no {OS_USER!r} OS user to run PostgreSQL as "
                    "(the Debian `postgresql` package creates it)") from None
            if shutil.which("runuser") is None:
                shutil.rmtree(base, ignore_errors=True)
                raise PostgresUnavailable("running as root but `runuser` is missing (util-linux)")
            os.chown(base, account.pw_uid, account.pw_gid)
        return base

    def _initdb(self) -> None:
        pwfile = self.base / "pwfile"
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        try:
            self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user,
                       f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
                       "-E", "UTF8", "--no-locale", "--no-sync"], what="initdb")
        finally:
            pwfile.unlink(missing_ok=True)

    def _start_server(self) -> None:
        last_error: Exception | None = None
        for _ in range(3):  # the free port can be taken between probing and binding
            self.port = free_port()
            options = ["-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                       "-c", f"unix_socket_directories={self.base}"]
            for setting in FAST_SETTINGS:
                options += ["-c", setting]
            try:
                self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_file),
                           "-w", "-t", str(START_TIMEOUT_SECONDS), "-o", shlex.join(options), "start"],
                          what="pg_ctl start", timeout=START_TIMEOUT_SECONDS + 10)
                return
            except RuntimeError as exc:
                last_error = exc
                if "could not bind" not in self._log_tail() and "in use" not in self._log_tail():
                    raise
        raise RuntimeError(f"PostgreSQL did not start on a free port: {last_error}")

    def _stop_server(self) -> None:
        for mode in ("fast", "immediate"):
            try:
                self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                           "-t", str(STOP_TIMEOUT_SECONDS), "stop"], what=f"pg_ctl stop -m {mode}",
                          timeout=STOP_TIMEOUT_SECONDS + 10)
                return
            except (RuntimeError, subprocess.SubprocessError):
                continue
        pid = self._postmaster_pid()
        if pid is not None:  # the postmaster we started, by its own pid file
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _wait_gone(pid, seconds=10)

    # -- helpers -------------------------------------------------------------------------------

    def _run(self, argv: list[str], *, what: str, timeout: float = 120) -> None:
        """Run a PostgreSQL tool (as `postgres` when root); output to a file, never a pipe that a
        forked server could hold open."""
        if self._as_root:
            argv = ["runuser", "-u", OS_USER, "--", *argv]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        output = self.base / f"{what.split()[0]}.out"
        with open(output, "wb") as out:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  env=env, cwd=self.base, timeout=timeout)
        if done.returncode != 0:
            text = output.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{text}\n--- server log ---\n"
                               f"{self._log_tail()}")

    def _chown(self, path: Path) -> None:
        if self._as_root:
            account = pwd.getpwnam(OS_USER)
            os.chown(path, account.pw_uid, account.pw_gid)

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")[-3000:]
        except OSError:
            return ""

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    # -- databases ------------------------------------------------------------------------------

    def database(self, name: str = "postgres") -> Database:
        assert self.port is not None, "server not started"
        return Database(name, self.host, self.port, self.user, self.password)

    def admin(self) -> psycopg.Connection:
        """An autocommit superuser connection to the `postgres` database."""
        return self.database().connect(autocommit=True)

    def create_database(self, template: str | None = None) -> Database:
        """A new database; `template`: a copy of that one (which must have no open connection)."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        copy = sql.SQL(" TEMPLATE {}").format(sql.Identifier(template)) if template else sql.SQL("")
        with self.admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}{}").format(sql.Identifier(name), copy))
        return self.database(name)

    def drop_database(self, name: str) -> None:
        """Drop even when a test left a connection open (FORCE ends it)."""
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _traversable_by_others(folder: Path) -> bool:
    for part in (folder, *folder.parents):
        try:
            if not part.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _wait_gone(pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
