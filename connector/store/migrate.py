"""Versioned schema migrations (Alembic), run from code; an unknown newer version is refused."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from connector.errors import SchemaVersionError

SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPTS))
    return cfg


def known_revisions() -> set[str]:
    scripts = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in scripts.walk_revisions()}


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str] | None:
    """Bring the store to the newest schema this connector knows; refuse one it does not know.
    Returns (the revision it found, head) when it changed the schema (None found: a new store),
    None when the store was at head already.

    On SQLite the whole upgrade runs in one BEGIN IMMEDIATE transaction (SQLite DDL is
    transactional): a failure half-way leaves the store as it was, and two daemons starting at once
    migrate one after the other."""
    target = head()
    if _refuse_unknown(current(engine)) == target:
        return None
    cfg = alembic_config()
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:  # read again, on SQLite under the write lock: a daemon that migrated meanwhile is seen
            found = _refuse_unknown(MigrationContext.configure(conn).get_current_revision())
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        except BaseException:
            conn.rollback() if not sqlite else _rollback(conn)
            raise
        conn.exec_driver_sql("COMMIT") if sqlite else conn.commit()
    return None if found == target else (found, target)


def _rollback(conn) -> None:
    if conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("ROLLBACK")


def _refuse_unknown(found: str | None) -> str | None:
    """`found`, unless it is a revision this connector does not know (then SchemaVersionError)."""
    if found is not None and found not in known_revisions():
        raise SchemaVersionError(
            f"state store schema version {found!r} is unknown to this connector (newest known: "
            f"{head()!r}); it was written by a newer release. Upgrade the connector; the store is untouched."
        )
    return found
