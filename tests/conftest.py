"""Fixtures of general use. A test that uses PostgreSQL is marked `@pytest.mark.external_service`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import Database, PostgresServer, PostgresUnavailable, find_bindir, running_in_ci


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


@pytest.fixture(scope="session")
def mariadb():
    """A throwaway MariaDB server on 127.0.0.1 for the whole session (tests/support/mariadb.py)."""
    from tests.support.mariadb import mariadb_fixture

    yield from mariadb_fixture()
