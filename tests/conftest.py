"""Fixtures of general use. A test that uses PostgreSQL is marked `@pytest.mark.external_service`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from connector.config.secrets import Secret
from connector.store.engine import Store, build_engine
from tests.support.migrations import Target
from tests.support.postgres import (
    Database,
    PostgresServer,
    PostgresUnavailable,
    find_bindir,
    running_in_ci,
)


def _is_pytest_handler(handler: logging.Handler) -> bool:
    return type(handler).__module__.startswith("_pytest")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Every test leaves structlog, its contextvars and the root logger as it found them: the CLI and
    the daemon configure logging globally (pytest's own capture handlers are its business)."""
    root = logging.getLogger()
    handlers = [h for h in root.handlers if not _is_pytest_handler(h)]
    level = root.level
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = handlers + [h for h in root.handlers if _is_pytest_handler(h)]
    root.setLevel(level)


def _unavailable(reason: str) -> None:
    """Skip on a developer machine; in CI (CI=true) PostgreSQL is installed, so its absence fails."""
    if running_in_ci():
        pytest.fail(f"PostgreSQL is required in CI but unusable: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server on 127.0.0.1 for the whole session (tests/support/postgres.py)."""
    bindir = find_bindir()
    if bindir is None:
        _unavailable("no initdb/pg_ctl/postgres found via $CONNECTOR_TEST_PG_BINDIR, `pg_config --bindir` "
                     "or /usr/lib/postgresql/*/bin (install the Debian `postgresql` package)")
    server = PostgresServer(bindir)
    try:
        server.start()
    except PostgresUnavailable as exc:
        _unavailable(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_pg_db(postgres: PostgresServer) -> Iterator[Database]:
    """A new, empty database for one test, dropped (with any connection left open) afterwards."""
    db = postgres.create_database()
    try:
        yield db
    finally:
        postgres.drop_database(db.name)


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.external_service)])
def any_store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    """A migrated state store, once on SQLite and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        opened = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    else:
        db = request.getfixturevalue("fresh_pg_db")  # only PostgreSQL runs start the server
        opened = Store.open(db.url, password=Secret(db.password, "${TEST_STORE_PASSWORD}"))
    yield opened
    opened.close()


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgresql", id="postgresql", marks=pytest.mark.external_service)])
def empty_store_target(request: pytest.FixtureRequest, tmp_path) -> Iterator[Target]:
    """An engine on an empty, unmigrated store database (SQLite, then PostgreSQL), for migration tests."""
    if request.param == "sqlite":
        url, password = f"sqlite:///{tmp_path / 'state.db'}", None
    else:
        db = request.getfixturevalue("fresh_pg_db")
        url, password = db.url, Secret(db.password, "${TEST_STORE_PASSWORD}")
    engine = build_engine(url, password=password)
    yield Target(engine, url, password)
    engine.dispose()


@pytest.fixture(scope="session")
def mariadb():
    """A throwaway MariaDB server on 127.0.0.1 for the whole session (tests/support/mariadb.py)."""
    from tests.support.mariadb import mariadb_fixture

    yield from mariadb_fixture()
